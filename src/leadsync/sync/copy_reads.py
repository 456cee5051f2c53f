"""Reading one object for the initial copy: its first page, then the records after it, REST
pages up to the Bulk threshold and Bulk 2.0 jobs of growing size above it, in batches for the
store. A copy is resumable because every read is ordered by (SystemModstamp, Id) and starts
strictly after the last record stored (`after_cursor`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..db.sync_state import Watermark
from ..salesforce import bulk, soql
from ..salesforce.client import SalesforceClient
from .objects import ReadPlan
from .records import RowDecoder, SfRecord, decode

ORDER = ("SystemModstamp", "Id")
BULK_PAGE = 10_000  # rows per Bulk result page: a page is parsed in memory at once


@dataclass(frozen=True)
class CopySizes:
    """How the copy cuts an object (see `PullSettings`)."""

    batch: int  # records stored per transaction
    bulk_threshold: int  # above this many records, Bulk 2.0 reads the rest
    first_bulk_chunk: int  # records of the first Bulk job, doubling per job...
    bulk_chunk: int  # ...up to this many


def copy_batches(
    client: SalesforceClient,
    sizes: CopySizes,
    read_plan: ReadPlan,
    first: Mapping[str, Any],
    started: dt.datetime,
) -> Iterator[list[SfRecord]]:
    """The first page, then the records after its last: REST pages up to the Bulk
    threshold, Bulk 2.0 jobs above it.

    The rest is asked for afresh, not through the first page's `nextRecordsUrl`: that
    query cursor was opened when the copy began, maybe hours before this object's turn,
    and Salesforce closes idle cursors (and all but a user's newest ten)."""
    size = sizes.batch
    records = [decode(read_plan, raw) for raw in first["records"]]
    for start in range(0, len(records), size):
        yield records[start : start + size]
    if first.get("done", True) or not records:
        return
    if int(first["totalSize"]) > sizes.bulk_threshold:
        yield from _bulk_chunks(client, sizes, read_plan, records[-1], started)
        return
    statement = soql.select(
        read_plan.name,
        read_plan.select,
        where=bulk_rest(records[-1], started),
        order_by=ORDER,
    )
    for page in client.query_pages(statement, include_deleted=True):
        if page:
            yield [decode(read_plan, raw) for raw in page]


def _bulk_chunks(
    client: SalesforceClient,
    sizes: CopySizes,
    read_plan: ReadPlan,
    last: SfRecord,
    started: dt.datetime,
) -> Iterator[list[SfRecord]]:
    """The records after `last`, through Bulk jobs of growing size (`LIMIT`), each asked
    for as soon as the one before has been read to its end.

    A job's results can only be read once the job is complete, and the copy has nothing
    else to store meanwhile: one job for a million records would leave the copy idle for
    as long as Salesforce takes to run it. The first job is small, so storing starts
    early; each next job runs on Salesforce's side while this side still stores the last
    batches of the one before."""
    size, chunk = sizes.batch, sizes.first_bulk_chunk
    while True:
        statement = soql.select(
            read_plan.name,
            read_plan.select,
            where=bulk_rest(last, started),
            order_by=ORDER,
            limit=chunk,
        )
        pages = bulk.query_pages(
            client, statement, include_deleted=True, page_size=max(size, BULK_PAGE)
        )
        read = 0
        for header, rows in pages:
            decoder = RowDecoder(read_plan, header)  # Bulk CSV: decoded by column position
            for start in range(0, len(rows), size):
                batch = [decoder.decode(row) for row in rows[start : start + size]]
                read, last = read + len(batch), batch[-1]
                yield batch
        if read < chunk:
            return  # the job held everything that was left
        chunk = min(chunk * 2, sizes.bulk_chunk)


def after_cursor(mark: Watermark) -> str | None:
    """Resume an interrupted copy strictly after the last (SystemModstamp, Id) stored."""
    if mark.copy_done or mark.watermark is None or mark.copy_cursor is None:
        return None
    stamp = soql.datetime_literal(mark.watermark)
    cursor = soql.quote(mark.copy_cursor)
    return f"(SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {cursor}))"


def bulk_rest(last: SfRecord, started: dt.datetime) -> str:
    """What the copy reads after a first page: the records after its last one, stamped no
    later than the copy's start. A record of the first page changed since is stamped later:
    left to the first cycle (whose watermark is `started`), it is not read twice in one
    fresh copy. (Stamps are whole seconds, so the whole-second literal loses nothing.)"""
    after = after_cursor(Watermark(last.object, last.modstamp, last.id, False))
    return f"{after} AND SystemModstamp <= {soql.datetime_literal(started)}"
