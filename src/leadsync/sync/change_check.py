"""The change check that opens an incremental cycle: which objects changed since their
watermark, in as few API calls as Salesforce allows (one for a typical org).

Salesforce takes 25 sub-requests in one `/composite` call but only five of them queries. So
five objects a call are checked by their changes query itself (its first page is the answer),
and up to ten more by the replication resources `sobjects/{obj}/updated` and `deleted`, two
sub-requests each that are not queries. Both empty means the object has no change up to the
`latestDateCovered` they report; an object with changes is queried afterwards, five to a call.

The replication resources count whole minutes: a change made in the minute a check runs is
reported by the first check after that minute (the watermark of an idle object moves only to
the date covered). Objects they cannot answer for (not replicateable, or a window older than
the deleted records Salesforce keeps) are checked by query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ..salesforce.client import COMPOSITE_QUERIES, SalesforceClient

SUBREQUESTS = 25  # per `/composite` call
# Objects that change most often take the query slots first: a change found by a query costs
# nothing more, one found by the replication resources costs a query after.
QUERY_FIRST = ("Lead", "Contact", "CampaignMember", "Account", "Opportunity")
# `deleted` answers for the last 15 days only (the recycle bin); a day's margin for clocks.
REPLICATION_WINDOW = dt.timedelta(days=14)
# `updated` and `deleted` refuse a window of a minute or less, after both ends are truncated to
# the minute.
SHORTEST_WINDOW = dt.timedelta(minutes=2)


@dataclass
class ChangeCheck:
    """What the check found: first pages of the objects it queried, the objects the
    replication resources found changed (to be queried), and the date covered for the idle
    ones."""

    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    covered: dict[str, dt.datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckRequest:
    name: str
    soql: str  # the object's changes query
    since: dt.datetime  # the start of the window it must cover (the watermark - lookback)
    reached: dt.datetime  # the watermark: the window may start no later


def check_changes(
    client: SalesforceClient,
    requests: Sequence[CheckRequest],
    *,
    replicable: set[str],
    now: dt.datetime,
    failed: Callable[[str, int, Any], Exception],
) -> ChangeCheck:
    """One change check over `requests`. A failed query sub-request raises `failed(name,
    status, body)`; a failed replication sub-request only marks its object changed, so that
    the query that follows reads it (or raises the real error)."""
    result = ChangeCheck()
    for queries, replicated in _calls(requests, replicable, now):
        subrequests = [_query(client, r) for r in queries]
        for r in replicated:
            subrequests += _replication(client, r, now)
        responses = {str(x.get("referenceId")): x for x in client.composite(subrequests)}
        for r in queries:
            result.pages[r.name] = query_page(responses.get(r.name), r.name, failed)
        for r in replicated:
            updated, deleted = (responses.get(f"{r.name}_{x}") for x in ("updated", "deleted"))
            covered = _covered(updated, deleted)
            if covered is None:
                result.changed.append(r.name)
            else:
                result.covered[r.name] = covered
    return result


def _calls(
    requests: Sequence[CheckRequest], replicable: set[str], now: dt.datetime
) -> list[tuple[list[CheckRequest], list[CheckRequest]]]:
    """The objects of each call: (checked by query, checked by replication resources)."""
    queried = [r for r in requests if not _replicable(r, replicable, now)]
    replicated = sorted(
        (r for r in requests if _replicable(r, replicable, now)), key=_query_preference
    )
    calls: list[tuple[list[CheckRequest], list[CheckRequest]]] = []
    while queried or replicated:
        queries = queried[:COMPOSITE_QUERIES]
        del queried[:COMPOSITE_QUERIES]
        free = COMPOSITE_QUERIES - len(queries)
        queries += replicated[:free]
        del replicated[:free]
        room = (SUBREQUESTS - len(queries)) // 2
        calls.append((queries, replicated[:room]))
        del replicated[:room]
    return calls


def _replicable(request: CheckRequest, replicable: set[str], now: dt.datetime) -> bool:
    start = replication_start(request.since, request.reached)
    return (
        request.name in replicable
        and start >= now - REPLICATION_WINDOW
        and now - start >= SHORTEST_WINDOW
    )


def replication_start(since: dt.datetime, reached: dt.datetime) -> dt.datetime:
    """`since` rounded up to a whole minute, unless that passes `reached` (a lookback under a
    minute): then rounded down.

    The resources round a start down, which takes in up to a minute more of changes the cycles
    before have read: reported as changes, each costs a query for nothing. Rounded up, the
    window loses under a minute of the lookback's margin for late commits (four minutes and
    more are left of the default five). It must never start after the watermark, though:
    changes stamped between the two would be asked about by no one."""
    whole = since.replace(second=0, microsecond=0)
    if whole == since:
        return whole
    up = whole + dt.timedelta(minutes=1)
    return up if up <= reached else whole


def _query_preference(request: CheckRequest) -> int:
    return QUERY_FIRST.index(request.name) if request.name in QUERY_FIRST else len(QUERY_FIRST)


def _query(client: SalesforceClient, request: CheckRequest) -> dict[str, Any]:
    return {
        "method": "GET",
        "url": f"{client.base_path}/queryAll?" + urlencode({"q": request.soql}),
        "referenceId": request.name,
    }


def _replication(
    client: SalesforceClient, request: CheckRequest, now: dt.datetime
) -> list[dict[str, Any]]:
    start = replication_start(request.since, request.reached)
    window = urlencode({"start": _stamp(start), "end": _stamp(now)})
    return [
        {
            "method": "GET",
            "url": f"{client.base_path}/sobjects/{request.name}/{resource}/?{window}",
            "referenceId": f"{request.name}_{resource}",
        }
        for resource in ("updated", "deleted")
    ]


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_page(
    response: Mapping[str, Any] | None, name: str, failed: Callable[[str, int, Any], Exception]
) -> dict[str, Any]:
    """A query sub-request's page, or `failed(name, status, body)` raised."""
    status = int((response or {}).get("httpStatusCode", 500))
    body = (response or {}).get("body")
    if status >= 300 or not isinstance(body, dict):
        raise failed(name, status, body)
    return body


def _covered(
    updated: Mapping[str, Any] | None, deleted: Mapping[str, Any] | None
) -> dt.datetime | None:
    """The date up to which both answers found nothing, or None when either found a change
    (or failed)."""
    dates: list[dt.datetime] = []
    for response, records in ((updated, "ids"), (deleted, "deletedRecords")):
        body = (response or {}).get("body")
        if int((response or {}).get("httpStatusCode", 500)) >= 300 or not isinstance(body, dict):
            return None
        if body.get(records):
            return None
        covered = _parse(body.get("latestDateCovered"))
        if covered is None:
            return None
        dates.append(covered)
    return min(dates)


def _parse(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
