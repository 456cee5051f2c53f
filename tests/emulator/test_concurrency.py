"""Concurrency and robustness of the emulator's stateful registries: Bulk 2.0 result pages
racing job deletion, query locators shared by threads, and the writer lock vs the event loop.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from leadsync.emulator import bulk, bulk_ingest, bulk_query, query
from leadsync.emulator.dml import system_insert
from leadsync.emulator.org import Org
from leadsync.emulator.server import ServerThread
from tests.conftest import ApiClient, login

LEAD_QUERY = "SELECT Id, LastName, Company FROM Lead ORDER BY LastName"


def seed(org: Org, count: int) -> list[str]:
    rows = [{"LastName": f"L{n:05d}", "Company": f"Co {n}"} for n in range(count)]
    return system_insert(org, "Lead", rows)


def wait_complete(get: Callable[[str], httpx.Response], job_id: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        state = get(f"jobs/query/{job_id}").json()["state"]
        if state == "JobComplete":
            return
        assert state not in bulk.TERMINAL_STATES, state
        assert time.monotonic() < deadline, f"job stuck in {state}"
        time.sleep(0.01)


def run_query(sf: ApiClient, soql: str = LEAD_QUERY) -> str:
    response = sf.post("jobs/query", json={"operation": "query", "query": soql})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["id"]
    wait_complete(sf.get, job_id)
    return job_id


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


@pytest.fixture
def server(org: Org) -> Iterator[ServerThread]:
    with ServerThread(org) as running:
        yield running


def api_client(org: Org, server: ServerThread, timeout: float = 30) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/services/data/v62.0/",
        headers={"Authorization": f"Bearer {login(org, 'sync@example.com')}"},
        timeout=timeout,
    )


# -- Bulk 2.0 result pages vs job deletion ----------------------------------------------------


def test_a_page_whose_job_is_deleted_mid_request_still_matches_its_content_length(
    sf: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported flake: Content-Length of a whole page, then only the header line, because
    the result file was opened lazily, after the headers went out, and a DELETE (or a client
    giving up and deleting its job) removed it in between."""
    seed(org, 3000)
    job_id = run_query(sf)
    jobs = bulk.registry(org)
    job = jobs.get(job_id, bulk_query.QueryJob)
    real_page = bulk_query.page

    def page_then_delete(*args: Any) -> bulk_query.Page:
        found = real_page(*args)
        jobs.remove(job)  # what a concurrent DELETE does
        return found

    monkeypatch.setattr(bulk_query, "page", page_then_delete)
    response = sf.get(f"jobs/query/{job_id}/results", params={"maxRecords": "2500"})
    assert response.status_code == 200
    assert len(response.content) == int(response.headers["content-length"])
    rows = csv_rows(response.content)
    assert rows[0] == ["Id", "LastName", "Company"]
    assert len(rows) == 1 + 2500
    assert not job.workdir.exists()


def test_a_page_of_a_job_deleted_before_it_was_read_is_not_found(
    sf: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(org, 10)
    job_id = run_query(sf)
    jobs = bulk.registry(org)
    job = jobs.get(job_id, bulk_query.QueryJob)
    real_page = bulk_query.page

    def delete_then_page(*args: Any) -> bulk_query.Page:
        jobs.remove(job)  # a DELETE between the job lookup and the page
        return real_page(*args)

    monkeypatch.setattr(bulk_query, "page", delete_then_page)
    response = sf.get(f"jobs/query/{job_id}/results")
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_result_reads_racing_deletes_over_a_socket_never_end_short(
    org: Org, server: ServerThread
) -> None:
    """Many result downloads while the same jobs are deleted: each answer is either whole
    (as long as its Content-Length) or a clean 404, never a short body."""
    seed(org, 6000)
    whole = 0
    with api_client(org, server) as client:

        def download(job_id: str, locator: str | None) -> str:
            params = {"maxRecords": "3000", **({"locator": locator} if locator else {})}
            try:
                response = client.get(f"jobs/query/{job_id}/results", params=params)
            except httpx.RemoteProtocolError as error:  # a body shorter than declared
                return f"short: {error}"
            if response.status_code == 404:
                return "gone"
            assert response.status_code == 200, response.text
            assert len(csv_rows(response.content)) == 3001
            return "whole"

        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(6):
                created = client.post(
                    "jobs/query", json={"operation": "query", "query": LEAD_QUERY}
                )
                job_id = created.json()["id"]
                wait_complete(client.get, job_id)
                reads = [
                    pool.submit(download, job_id, locator)
                    for locator in [None, bulk.encode_locator(3000)] * 6
                ]
                time.sleep(0.002 * _)
                assert client.delete(f"jobs/query/{job_id}").status_code == 204
                outcomes = [future.result() for future in reads]
                assert all(o in ("whole", "gone") for o in outcomes), outcomes
                whole += outcomes.count("whole")
    assert whole > 0


def test_deleting_a_query_job_as_its_worker_starts_writing_is_no_crash(
    sf: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed(org, 50)
    jobs = bulk.registry(org)
    real_write_rows = bulk_query._write_rows
    finished = threading.Event()
    seen: list[bulk_query.QueryJob] = []

    def delete_then_write(job: bulk_query.QueryJob, rows: Any) -> bool:
        seen.append(job)
        try:
            jobs.remove(job)  # a DELETE lands just before the result file is created
            return real_write_rows(job, rows)
        finally:
            finished.set()

    monkeypatch.setattr(bulk_query, "_write_rows", delete_then_write)
    response = sf.post("jobs/query", json={"operation": "query", "query": LEAD_QUERY})
    assert response.status_code == 200
    assert finished.wait(10)
    deadline = time.monotonic() + 5
    while any(t.name.startswith("bulk-") and t.is_alive() for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert seen[0].state == "Aborted" and seen[0].error_message is None
    assert not list(jobs.root.iterdir())  # no job directory recreated or left behind
    assert "crashed" not in caplog.text


def test_upload_to_a_deleted_ingest_job_is_not_found(
    sf: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = bulk.registry(org)
    created = sf.post("jobs/ingest", json={"object": "Lead", "operation": "insert"})
    job = jobs.get(created.json()["id"], bulk.BulkJob)
    jobs.remove(job)
    # The upload looked the job up just before a DELETE removed it.
    monkeypatch.setattr(jobs, "get", lambda job_id, kind: job)
    response = sf.put(
        f"jobs/ingest/{job.id}/batches",
        content=b"LastName,Company\nA,B\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 404, response.text
    assert not job.workdir.exists()


def test_results_of_an_ingest_job_aborted_while_running_wait_for_its_worker(
    sf: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An abort turns the job Aborted at once, but its worker writes the rest of the rows to
    the unprocessed results as it stops: results read before that were incomplete."""
    first_chunk_saved = threading.Event()
    resume = threading.Event()
    real_save = bulk_ingest._save

    def slow_save(*args: Any) -> Any:
        saved = real_save(*args)
        first_chunk_saved.set()
        assert resume.wait(10)
        return saved

    monkeypatch.setattr(bulk_ingest, "_save", slow_save)
    data = "LastName,Company\n" + "".join(f"L{n},Co {n}\n" for n in range(1000))
    job_id = sf.post("jobs/ingest", json={"object": "Lead", "operation": "insert"}).json()["id"]
    headers = {"Content-Type": "text/csv"}
    assert sf.put(f"jobs/ingest/{job_id}/batches", content=data, headers=headers).status_code == 201
    assert sf.patch(f"jobs/ingest/{job_id}", json={"state": "UploadComplete"}).status_code == 200
    assert first_chunk_saved.wait(10)
    assert sf.patch(f"jobs/ingest/{job_id}", json={"state": "Aborted"}).status_code == 200
    threading.Timer(0.3, resume.set).start()  # the worker goes on after the reads began
    unprocessed = csv_rows(sf.get(f"jobs/ingest/{job_id}/unprocessedrecords").content)
    successful = csv_rows(sf.get(f"jobs/ingest/{job_id}/successfulResults").content)
    assert len(successful) - 1 == bulk_ingest.CHUNK
    assert len(unprocessed) - 1 == 1000 - bulk_ingest.CHUNK


# -- REST query locators shared by threads ----------------------------------------------------


def test_concurrent_pages_of_one_locator_are_each_correct(org: Org, server: ServerThread) -> None:
    ids = sorted(seed(org, 3000))
    soql = "SELECT Id FROM Lead ORDER BY Id"
    with api_client(org, server) as client:
        first = client.get(
            "query", params={"q": soql}, headers={"Sforce-Query-Options": "batchSize=200"}
        )
        body = first.json()
        assert body["totalSize"] == 3000 and not body["done"]
        locator = body["nextRecordsUrl"].rsplit("/", 1)[1].rpartition("-")[0]

        def fetch(offset: int) -> list[str]:
            response = client.get(
                f"query/{locator}-{offset}", headers={"Sforce-Query-Options": "batchSize=200"}
            )
            assert response.status_code == 200, response.text
            return [record["Id"] for record in response.json()["records"]]

        offsets = [200 * (n % 13 + 1) for n in range(60)]  # out of order, repeated
        with ThreadPoolExecutor(max_workers=12) as pool:
            pages = list(pool.map(fetch, offsets))
    for offset, page in zip(offsets, pages, strict=True):
        assert page == ids[offset : offset + 200]


def test_eviction_and_expiry_while_pages_are_read_in_threads(
    org: Org, server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cursors evicted (too many open) or discarded while other threads page through them:
    every answer is a correct page or INVALID_QUERY_LOCATOR, never a 500."""
    ids = sorted(seed(org, 1000))
    registry = query.locators(org)
    monkeypatch.setattr(registry, "max_open", 3)
    soql = "SELECT Id FROM Lead ORDER BY Id"
    headers = {"Sforce-Query-Options": "batchSize=200"}
    outcomes: list[str] = []
    lock = threading.Lock()
    with api_client(org, server) as client:

        def walk(_: int) -> None:
            body = client.get("query", params={"q": soql}, headers=headers).json()
            seen = [r["Id"] for r in body["records"]]
            while not body["done"]:
                response = client.get(server.url + body["nextRecordsUrl"], headers=headers)
                if response.status_code == 400:
                    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
                    with lock:
                        outcomes.append("evicted")
                    return
                assert response.status_code == 200, response.text
                body = response.json()
                seen += [r["Id"] for r in body["records"]]
            assert seen == ids
            with lock:
                outcomes.append("whole")

        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(walk, range(40)))
    assert len(outcomes) == 40 and "whole" in outcomes
    assert len(registry) <= 3


def open_query(org: Org) -> query.OpenQuery:
    conn = org.store.snapshot()
    conn.execute("BEGIN")
    profile = org.definition.profiles["System Administrator"]
    compiled = query.compile_query(org, profile, "SELECT Id FROM Lead", include_deleted=False)
    return query.OpenQuery(
        compiled=compiled,
        conn=conn,
        cursor=compiled.execute(conn),
        total=10,
        position=0,
        batch_size=5,
        include_deleted=False,
        last_used=org.clock.now_float(),
    )


def test_a_cursor_evicted_while_a_page_is_read_finishes_that_page_first(org: Org) -> None:
    seed(org, 10)
    registry = query.QueryLocators(org.clock, max_open=1)
    in_use = open_query(org)
    registry.register(in_use)
    with in_use.lock:  # a page being read
        evicting = threading.Thread(target=registry.register, args=(open_query(org),))
        evicting.start()
        time.sleep(0.05)
        assert not in_use.closed
        rows = in_use.fetch(0, 5)
    evicting.join(5)
    assert len(rows) == 5 and in_use.closed
    registry.close_all()


# -- the writer lock and the event loop -------------------------------------------------------


def test_a_long_write_does_not_stall_the_event_loop(org: Org, server: ServerThread) -> None:
    """Every 100th API call saves the usage counter; doing that on the event loop while a
    worker held the store's writer lock (a big ingest chunk, an allOrNone composite) froze
    every connection of the server until the write ended."""
    released = threading.Event()
    holding = threading.Event()

    def long_write() -> None:
        with org.store.write():
            holding.set()
            released.wait(10)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert holding.wait(5)
        # A stalled event loop hangs these calls until the writer lets go (10 s): the
        # client's 3 s read timeout turns that into a failure, no duration asserted.
        with api_client(org, server, timeout=3) as client:
            for _ in range(150):
                assert client.get("limits").status_code == 200
    finally:
        released.set()
        writer.join()
    assert org.limits.used >= 150
    org.limits.flush()
    row = org.store.reader().execute("SELECT used FROM _emu_api_usage").fetchone()
    assert row[0] == org.limits.used


def test_a_failed_commit_does_not_leave_the_writer_in_a_transaction(org: Org) -> None:
    """A COMMIT that fails (here a deferred foreign key) is rolled back: otherwise every
    later write() would join the dead transaction and never commit."""
    store = org.store
    store._writer.execute("PRAGMA foreign_keys=ON")
    try:
        with pytest.raises(sqlite3.IntegrityError), store.write() as conn:
            conn.execute("CREATE TABLE _t_parent (id INTEGER PRIMARY KEY)")
            conn.execute(
                "CREATE TABLE _t_child (id INTEGER PRIMARY KEY, "
                "parent INTEGER REFERENCES _t_parent(id) DEFERRABLE INITIALLY DEFERRED)"
            )
            conn.execute("INSERT INTO _t_child VALUES (1, 99)")
        assert not store._writer.in_transaction
    finally:
        store._writer.execute("PRAGMA foreign_keys=OFF")
    seed(org, 1)
    assert org.store.snapshot().execute('SELECT COUNT(*) FROM "Lead"').fetchone()[0] == 1
