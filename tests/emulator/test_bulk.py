"""Bulk API 2.0 in the emulator: query jobs (CSV pages with locators) and ingest jobs."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx
import pytest

from leadsync.emulator import bulk, bulk_ingest, bulk_query
from leadsync.emulator.dml import system_insert
from leadsync.emulator.org import Org
from tests.conftest import ApiClient

LEAD_QUERY = "SELECT Id, LastName, Company FROM Lead ORDER BY LastName"


def wait_done(sf: ApiClient, kind: str, job_id: str) -> dict[str, Any]:
    """Poll a job until it reaches a terminal state (bounded, so a hang fails the test)."""
    deadline = time.monotonic() + 30
    while True:
        info: dict[str, Any] = sf.get(f"jobs/{kind}/{job_id}").json()
        if info["state"] in bulk.TERMINAL_STATES:
            return info
        assert time.monotonic() < deadline, f"job stuck in {info['state']}"
        time.sleep(0.01)


def parse(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def records(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def start_query(sf: ApiClient, soql: str, **extra: Any) -> str:
    response = sf.post("jobs/query", json={"operation": "query", "query": soql, **extra})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["id"]
    return job_id


def run_query(sf: ApiClient, soql: str, **extra: Any) -> str:
    job_id = start_query(sf, soql, **extra)
    assert wait_done(sf, "query", job_id)["state"] == "JobComplete"
    return job_id


def seed(org: Org, count: int, **fields: Any) -> list[str]:
    rows = [{"LastName": f"L{n:04d}", "Company": f"Co {n}", **fields} for n in range(count)]
    return system_insert(org, "Lead", rows)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert isinstance(body, list), body
    code: str = body[0]["errorCode"]
    return code


# -- query jobs ------------------------------------------------------------------------------


def test_create_answers_job_info_in_salesforce_shape(sf: ApiClient, org: Org) -> None:
    seed(org, 2)
    response = sf.post(
        "jobs/query/",
        json={
            "operation": "queryAll",
            "query": LEAD_QUERY,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("750") and len(body["id"]) == 18
    assert body["state"] == "UploadComplete"
    assert body["object"] == "Lead"
    assert body["operation"] == "queryAll"
    assert body["apiVersion"] == 62.0
    assert body["createdDate"].endswith(".000+0000")
    assert body["createdById"] == org.find_user("sync@example.com").id  # type: ignore[union-attr]
    assert (body["concurrencyMode"], body["contentType"]) == ("Parallel", "CSV")
    info = wait_done(sf, "query", body["id"])
    assert info["jobType"] == "V2Query"
    assert info["numberRecordsProcessed"] == 2
    assert {"retries", "totalProcessingTime", "isPkChunkingSupported"} <= set(info)


def test_results_are_all_quoted_csv_in_query_order(sf: ApiClient, org: Org) -> None:
    org.clock.freeze(1714566896)  # 2024-05-01T12:34:56Z
    [lead_id] = system_insert(
        org,
        "Lead",
        [
            {
                "FirstName": "Ada",
                "LastName": 'Love "the" lace',
                "Company": "Engines, Ltd\nLondon",
                "IsUnreadByOwner": 1,
                "Email": None,
            }
        ],
    )
    job_id = run_query(
        sf,
        "SELECT Company, Id, Owner.Name, IsUnreadByOwner, CreatedDate, Email, LastName FROM Lead",
    )
    response = sf.get(f"jobs/query/{job_id}/results")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["Sforce-Locator"] == "null"
    assert response.headers["Sforce-NumberOfRecords"] == "1"
    lines = response.text.split("\n")
    assert lines[0] == (
        '"Company","Id","Owner.Name","IsUnreadByOwner","CreatedDate","Email","LastName"'
    )
    assert response.text.endswith('"Love ""the"" lace"\n')
    [row] = parse(response.text)[1:]
    assert row == [
        "Engines, Ltd\nLondon",
        lead_id,
        "Ada Admin",
        "true",
        "2024-05-01T12:34:56.000Z",
        "",
        'Love "the" lace',
    ]


def test_tab_delimiter_and_crlf_line_endings(sf: ApiClient, org: Org) -> None:
    seed(org, 2)
    job_id = run_query(sf, LEAD_QUERY, columnDelimiter="TAB", lineEnding="CRLF")
    info = sf.get(f"jobs/query/{job_id}").json()
    assert (info["columnDelimiter"], info["lineEnding"]) == ("TAB", "CRLF")
    text = sf.get(f"jobs/query/{job_id}/results").text
    assert text.startswith('"Id"\t"LastName"\t"Company"\r\n')
    assert [row[1] for row in parse(text, "\t")[1:]] == ["L0000", "L0001"]


@pytest.mark.parametrize("stride", [3, 1000])
def test_pages_follow_locators_and_locators_can_be_reread(
    sf: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch, stride: int
) -> None:
    # A small index stride makes pages start between indexed rows; newlines inside values
    # must not be taken for record ends when skipping to a page start.
    monkeypatch.setattr(bulk_query, "INDEX_STRIDE", stride)
    ids = system_insert(
        org,
        "Lead",
        [
            {"LastName": f"L{n:02d}", "Company": 'multi\nline\n"quoted"' if n % 2 else "x"}
            for n in range(23)
        ],
    )
    job_id = run_query(sf, LEAD_QUERY)
    seen: list[str] = []
    locators: list[str] = []
    locator = None
    while True:
        params = {"maxRecords": "5", **({"locator": locator} if locator else {})}
        response = sf.get(f"jobs/query/{job_id}/results", params=params)
        assert response.status_code == 200
        rows = parse(response.text)
        assert rows[0] == ["Id", "LastName", "Company"]
        assert int(response.headers["Sforce-NumberOfRecords"]) == len(rows) - 1
        seen += [row[0] for row in rows[1:]]
        locator = response.headers["Sforce-Locator"]
        if locator == "null":
            break
        locators.append(locator)
    assert seen == ids
    assert len(locators) == 4
    again = [
        sf.get(f"jobs/query/{job_id}/results", params={"maxRecords": "5", "locator": locators[1]})
        for _ in range(2)
    ]
    assert again[0].text == again[1].text
    assert [row[1] for row in parse(again[0].text)[1:]] == [f"L{n:02d}" for n in range(10, 15)]


def test_query_hides_deleted_rows_and_query_all_shows_them(sf: ApiClient, org: Org) -> None:
    ids = seed(org, 3)
    with org.store.write() as conn:
        conn.execute('UPDATE "Lead" SET "IsDeleted" = 1 WHERE "Id" = ?', (ids[1],))
    live = run_query(sf, "SELECT Id, IsDeleted FROM Lead")
    every = sf.post(
        "jobs/query", json={"operation": "queryAll", "query": "SELECT Id, IsDeleted FROM Lead"}
    ).json()["id"]
    wait_done(sf, "query", every)
    assert [r["Id"] for r in records(sf.get(f"jobs/query/{live}/results"))] == [ids[0], ids[2]]
    all_rows = records(sf.get(f"jobs/query/{every}/results"))
    assert {r["Id"]: r["IsDeleted"] for r in all_rows} == {
        ids[0]: "false",
        ids[1]: "true",
        ids[2]: "false",
    }


def test_results_reflect_the_snapshot_not_later_writes(sf: ApiClient, org: Org) -> None:
    seed(org, 2)
    job_id = run_query(sf, LEAD_QUERY)
    seed(org, 5)
    assert len(records(sf.get(f"jobs/query/{job_id}/results"))) == 2


def test_results_before_completion_are_412_and_abort_stops_the_job(sf: ApiClient, org: Org) -> None:
    seed(org, 3)
    jobs = bulk.registry(org)
    with jobs.hold():
        job_id = start_query(sf, LEAD_QUERY)
        assert sf.get(f"jobs/query/{job_id}").json()["state"] == "UploadComplete"
        early = sf.get(f"jobs/query/{job_id}/results")
        assert early.status_code == 412
        assert error_code(early) == "JOB_NOT_COMPLETE"
        aborted = sf.patch(f"jobs/query/{job_id}", json={"state": "Aborted"})
        assert aborted.status_code == 200
        assert aborted.json()["state"] == "Aborted"
    assert wait_done(sf, "query", job_id)["state"] == "Aborted"
    again = sf.patch(f"jobs/query/{job_id}", json={"state": "Aborted"})
    assert again.status_code == 400 and error_code(again) == "INVALIDJOBSTATE"
    assert sf.get(f"jobs/query/{job_id}/results").status_code == 400


def test_a_held_job_completes_once_released(sf: ApiClient, org: Org) -> None:
    seed(org, 4)
    with bulk.registry(org).hold():
        job_id = start_query(sf, LEAD_QUERY)
        assert sf.get(f"jobs/query/{job_id}").json()["state"] == "UploadComplete"
    info = wait_done(sf, "query", job_id)
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 4)
    completed = sf.patch(f"jobs/query/{job_id}", json={"state": "Aborted"})
    assert completed.status_code == 400
    assert completed.json()[0]["message"] == "Aborting already Completed Job not allowed"


def test_delete_removes_the_job_and_its_file(sf: ApiClient, org: Org) -> None:
    seed(org, 2)
    job_id = run_query(sf, LEAD_QUERY)
    job = bulk.registry(org).get(job_id, bulk_query.QueryJob)
    assert job.workdir.exists()
    assert sf.delete(f"jobs/query/{job_id}").status_code == 204
    assert not job.workdir.exists()
    missing = sf.get(f"jobs/query/{job_id}")
    assert missing.status_code == 404 and error_code(missing) == "NOT_FOUND"
    assert sf.delete(f"jobs/query/{job_id}").status_code == 404


def test_list_query_jobs(sf: ApiClient, org: Org) -> None:
    first = run_query(sf, LEAD_QUERY)
    second = run_query(sf, "SELECT Id FROM Account")
    body = sf.get("jobs/query").json()
    assert body["done"] is True and body["nextRecordsUrl"] is None
    assert [job["id"] for job in body["records"]] == [first, second]
    assert body["records"][1]["object"] == "Account"


def test_empty_result_has_the_header_only(sf: ApiClient) -> None:
    job_id = run_query(sf, "SELECT Id, Name FROM Lead WHERE LastName = 'nobody'")
    response = sf.get(f"jobs/query/{job_id}/results")
    assert response.text == '"Id","Name"\n'
    assert response.headers["Sforce-NumberOfRecords"] == "0"
    assert response.headers["Sforce-Locator"] == "null"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"operation": "query", "query": "SELEC Id FROM Lead"}, 400, "MALFORMED_QUERY"),
        ({"operation": "query", "query": "SELECT Nope FROM Lead"}, 400, "INVALID_FIELD"),
        (
            {"operation": "query", "query": "SELECT Internal_Notes__c FROM Lead"},
            400,
            "INVALID_FIELD",
        ),
        ({"operation": "query", "query": "SELECT Id FROM Nope"}, 400, "INVALID_TYPE"),
        (
            {"operation": "query", "query": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"},
            400,
            "MALFORMED_QUERY|FUNCTIONALITY_NOT_ENABLED",
        ),
        (
            {"operation": "query", "query": "SELECT COUNT() FROM Lead"},
            400,
            "FUNCTIONALITY_NOT_ENABLED",
        ),
        ({"operation": "insert", "query": "SELECT Id FROM Lead"}, 400, "JSON_PARSER_ERROR"),
        ({"query": "SELECT Id FROM Lead"}, 400, "INVALIDJOB"),
        ({"operation": "query"}, 400, "INVALIDJOB"),
        (
            {"operation": "query", "query": "SELECT Id FROM Lead", "columnDelimiter": "DASH"},
            400,
            "JSON_PARSER_ERROR",
        ),
        (
            {"operation": "query", "query": "SELECT Id FROM Lead", "lineEnding": "CR"},
            400,
            "JSON_PARSER_ERROR",
        ),
        (
            {"operation": "query", "query": "SELECT Id FROM Lead", "contentType": "JSON"},
            400,
            "JSON_PARSER_ERROR",
        ),
        (["not", "an", "object"], 400, "JSON_PARSER_ERROR"),
    ],
)
def test_bad_query_jobs_are_rejected_at_creation(
    sf: ApiClient, body: Any, status: int, code: str
) -> None:
    response = sf.post("jobs/query", json=body)
    assert response.status_code == status
    # Sub-queries: refused by the SOQL compiler itself, or by the Bulk check if it accepts them.
    assert error_code(response) in code.split("|")
    assert sf.get("jobs/query").json()["records"] == []


def test_compound_fields_are_refused_like_salesforce(sf: ApiClient) -> None:
    response = sf.post(
        "jobs/query", json={"operation": "query", "query": "SELECT Id, Address FROM Lead"}
    )
    assert response.status_code == 400
    assert response.json()[0] == {
        "errorCode": "INVALID_FIELD",
        "message": "Selecting compound data not supported in Bulk Query",
        "fields": [],
    }


def test_malformed_requests_get_envelopes(sf: ApiClient, org: Org) -> None:
    bad_json = sf.post("jobs/query", content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and error_code(bad_json) == "JSON_PARSER_ERROR"
    seed(org, 1)
    job_id = run_query(sf, LEAD_QUERY)
    for params in (
        {"locator": "!!!"},
        {"locator": "OTk5"},
        {"maxRecords": "0"},
        {"maxRecords": "ten"},
    ):
        response = sf.get(f"jobs/query/{job_id}/results", params=params)
        assert response.status_code == 400, params
        assert isinstance(response.json(), list)
    wrong_method = sf.put(f"jobs/query/{job_id}", json={})
    assert wrong_method.status_code == 405 and error_code(wrong_method) == "METHOD_NOT_ALLOWED"
    bad_patch = sf.patch(f"jobs/query/{job_id}", json={"state": "Open"})
    assert bad_patch.status_code == 400 and error_code(bad_patch) == "INVALIDJOBSTATE"
    assert sf.get("jobs/query/7505e0000000zzzAAA/results").status_code == 404
    # An ingest job id is not a query job.
    ingest_id = sf.post("jobs/ingest", json={"object": "Lead", "operation": "insert"}).json()["id"]
    assert sf.get(f"jobs/query/{ingest_id}").status_code == 404


def test_every_bulk_call_counts_as_one_api_request(sf: ApiClient, org: Org) -> None:
    seed(org, 3)
    before = org.limits.used
    job_id = start_query(sf, LEAD_QUERY)
    assert org.limits.used == before + 1
    wait_done(sf, "query", job_id)
    mark = org.limits.used
    sf.get(f"jobs/query/{job_id}")
    sf.get(f"jobs/query/{job_id}/results", params={"maxRecords": "2"})
    sf.get("jobs/query")
    sf.delete(f"jobs/query/{job_id}")
    assert org.limits.used == mark + 4


# -- ingest jobs -----------------------------------------------------------------------------


def ingest(sf: ApiClient, operation: str, data: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    created = sf.post(
        "jobs/ingest",
        json={
            "object": extra.pop("object", "Lead"),
            "operation": operation,
            "contentType": "CSV",
            **extra,
        },
    )
    assert created.status_code == 200, created.text
    job_id: str = created.json()["id"]
    uploaded = sf.put(
        f"jobs/ingest/{job_id}/batches",
        content=data.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert uploaded.status_code == 201 and uploaded.content == b""
    closed = sf.patch(f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})
    assert closed.status_code == 200
    assert closed.json()["state"] == "UploadComplete"
    return job_id, wait_done(sf, "ingest", job_id)


def results(sf: ApiClient, job_id: str, kind: str) -> list[dict[str, str]]:
    response = sf.get(f"jobs/ingest/{job_id}/{kind}/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return records(response)


def test_ingest_create_answers_open_with_content_url(sf: ApiClient) -> None:
    response = sf.post(
        "jobs/ingest",
        json={"object": "lead", "operation": "upsert", "externalIdFieldName": "leadsync_id__c"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "Open"
    assert body["object"] == "Lead"
    assert body["externalIdFieldName"] == "LeadSync_Id__c"
    assert body["contentUrl"] == f"services/data/v62.0/jobs/ingest/{body['id']}/batches"
    info = sf.get(f"jobs/ingest/{body['id']}").json()
    assert info["jobType"] == "V2Ingest"
    assert {
        "numberRecordsProcessed",
        "numberRecordsFailed",
        "retries",
        "totalProcessingTime",
        "apiActiveProcessingTime",
        "apexProcessingTime",
    } <= set(info)


def test_ingest_insert_with_good_and_bad_rows(sf: ApiClient) -> None:
    job_id, info = ingest(
        sf,
        "insert",
        "LastName,Company,Email,NumberOfEmployees\n"
        "Curie,Radium,marie@example.com,10\n"
        ",Nameless,,\n"
        'Noether,"Algebra, Inc",emmy@example.com,-5\n'
        "Hopper,Navy,not-an-email,\n"
        'Lovelace,"Engines ""Ltd""",,7\n',
    )
    assert info["state"] == "JobComplete"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (5, 3)
    ok = results(sf, job_id, "successfulResults")
    assert [r["LastName"] for r in ok] == ["Curie", "Lovelace"]
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("00Q") for r in ok)
    assert ok[1]["Company"] == 'Engines "Ltd"'
    failed = {r["Company"]: r for r in results(sf, job_id, "failedResults")}
    assert failed["Nameless"]["sf__Error"] == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
    )
    assert failed["Nameless"]["sf__Id"] == ""
    assert failed["Algebra, Inc"]["sf__Error"].startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION:")
    assert failed["Navy"]["sf__Error"].startswith("INVALID_EMAIL_ADDRESS:")
    assert list(results(sf, job_id, "failedResults")[0]) == [
        "sf__Id",
        "sf__Error",
        "LastName",
        "Company",
        "Email",
        "NumberOfEmployees",
    ]
    assert results(sf, job_id, "unprocessedrecords") == []
    stored = sf.query("SELECT LastName, Email, NumberOfEmployees FROM Lead ORDER BY LastName")
    assert [(r["LastName"], r["NumberOfEmployees"]) for r in stored["records"]] == [
        ("Curie", 10),
        ("Lovelace", 7),
    ]


def test_ingest_update_blank_cells_keep_values_and_na_clears(sf: ApiClient, org: Org) -> None:
    [first, second] = system_insert(
        org,
        "Lead",
        [
            {"LastName": "A", "Company": "X", "Title": "Boss", "Email": "a@example.com"},
            {"LastName": "B", "Company": "Y", "Title": "Dev"},
        ],
    )
    job_id, info = ingest(
        sf,
        "update",
        f"Id,Title,Email\n{first},,#N/A\n{second},Lead Dev,\n,Nobody,\n00Q000000000000AAA,X,\n",
    )
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (4, 2)
    ok = results(sf, job_id, "successfulResults")
    assert [(r["sf__Id"], r["sf__Created"]) for r in ok] == [(first, "false"), (second, "false")]
    failed = results(sf, job_id, "failedResults")
    assert failed[0]["sf__Error"] == "MISSING_ARGUMENT:Id not specified in an update call:--"
    assert failed[1]["sf__Id"] == "00Q000000000000AAA"
    rows = {r["Id"]: r for r in sf.query("SELECT Id, Title, Email FROM Lead")["records"]}
    assert (rows[first]["Title"], rows[first]["Email"]) == ("Boss", None)
    assert rows[second]["Title"] == "Lead Dev"


def test_ingest_upsert_reports_created_and_updated(sf: ApiClient, org: Org) -> None:
    system_insert(org, "Lead", [{"LastName": "Old", "Company": "X", "LeadSync_Id__c": "k1"}])
    job_id, info = ingest(
        sf,
        "upsert",
        "LeadSync_Id__c,LastName,Company\nk1,Renamed,\nk2,New,Co\nk3,,NoName\n",
        externalIdFieldName="LeadSync_Id__c",
    )
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
    created = {
        r["LeadSync_Id__c"]: r["sf__Created"] for r in results(sf, job_id, "successfulResults")
    }
    assert created == {"k1": "false", "k2": "true"}
    [failed] = results(sf, job_id, "failedResults")
    assert failed["LeadSync_Id__c"] == "k3"
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING")
    names = sf.query("SELECT LastName FROM Lead ORDER BY LastName")["records"]
    assert [r["LastName"] for r in names] == ["New", "Renamed"]


def test_ingest_delete_and_hard_delete(sf: ApiClient, org: Org) -> None:
    ids = seed(org, 3)
    job_id, info = ingest(sf, "delete", f"Id\n{ids[0]}\n{ids[0]}x\n")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    assert [r["sf__Id"] for r in results(sf, job_id, "successfulResults")] == [ids[0]]
    _, hard = ingest(sf, "hardDelete", f"Id\n{ids[1]}\n")
    assert hard["numberRecordsFailed"] == 0
    assert [r["Id"] for r in sf.query("SELECT Id FROM Lead")["records"]] == [ids[2]]
    deleted = sf.query("SELECT Id FROM Lead WHERE IsDeleted = true", all_rows=True)
    assert {r["Id"] for r in deleted["records"]} == {ids[0], ids[1]}


def test_ingest_resolves_parents_by_external_id(sf: ApiClient, org: Org) -> None:
    [lead_id] = system_insert(
        org, "Lead", [{"LastName": "P", "Company": "X", "LeadSync_Id__c": "ext-1"}]
    )
    job_id, info = ingest(
        sf,
        "insert",
        "Lead__r.LeadSync_Id__c,Product__c,Interest_Level__c\next-1,Core,3\nnope,Core,1\n",
        object="Product_Interest__c",
    )
    assert info["numberRecordsFailed"] == 1
    [ok] = results(sf, job_id, "successfulResults")
    rows = sf.query("SELECT Lead__c, Interest_Level__c FROM Product_Interest__c")["records"]
    assert [(r["Lead__c"], r["Interest_Level__c"]) for r in rows] == [(lead_id, 3)]
    assert ok["Lead__r.LeadSync_Id__c"] == "ext-1"
    [failed] = results(sf, job_id, "failedResults")
    assert failed["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: nope not found")


def test_unknown_column_fails_the_job_and_leaves_rows_unprocessed(sf: ApiClient) -> None:
    job_id, info = ingest(sf, "insert", "LastName,Foo\nA,1\nB,2\n")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Foo"
    assert [r["LastName"] for r in results(sf, job_id, "unprocessedrecords")] == ["A", "B"]
    assert results(sf, job_id, "successfulResults") == []
    _, hidden = ingest(sf, "insert", "LastName,Company,Internal_Notes__c\nA,B,secret\n")
    assert hidden["errorMessage"] == "InvalidBatch : Field name not found : Internal_Notes__c"
    _, no_id = ingest(sf, "update", "LastName\nA\n")
    assert no_id["errorMessage"] == "InvalidBatch : Field name not found : Id"


def test_rows_with_the_wrong_column_count_fail_alone(sf: ApiClient) -> None:
    job_id, info = ingest(sf, "insert", "LastName,Company\nA,B\nC\nD,E,F\nG,H\n")
    assert info["state"] == "JobComplete"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (4, 2)
    assert len(results(sf, job_id, "successfulResults")) == 2
    errors = [r["sf__Error"] for r in results(sf, job_id, "failedResults")]
    assert all("Wrong number of columns" in e for e in errors) and len(errors) == 2


def test_ingest_with_pipe_delimiter(sf: ApiClient) -> None:
    job_id, info = ingest(
        sf, "insert", "LastName|Company\nA|B, with comma\n", columnDelimiter="PIPE"
    )
    assert info["numberRecordsFailed"] == 0
    text = sf.get(f"jobs/ingest/{job_id}/successfulResults").text
    assert text.startswith('"sf__Id"|"sf__Created"|"LastName"|"Company"\n')
    assert text.endswith('|"true"|"A"|"B, with comma"\n')


def test_upload_rules(sf: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = sf.post("jobs/ingest", json={"object": "Lead", "operation": "insert"}).json()["id"]
    monkeypatch.setattr(bulk_ingest, "MAX_UPLOAD", 64)
    big = sf.put(
        f"jobs/ingest/{job_id}/batches",
        content=b"LastName\n" + b"x\n" * 100,
        headers={"Content-Type": "text/csv"},
    )
    assert big.status_code == 400 and error_code(big) == "CLIENTINPUTERROR"
    first = sf.put(
        f"jobs/ingest/{job_id}/batches",
        content=b"LastName,Company\nA,B\n",
        headers={"Content-Type": "text/csv"},
    )
    assert first.status_code == 201
    twice = sf.put(
        f"jobs/ingest/{job_id}/batches",
        content=b"LastName,Company\nC,D\n",
        headers={"Content-Type": "text/csv"},
    )
    assert twice.status_code == 400 and error_code(twice) == "INVALIDJOBSTATE"
    aborted = sf.patch(f"jobs/ingest/{job_id}", json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted"
    assert [r["LastName"] for r in results(sf, job_id, "unprocessedrecords")] == ["A"]
    late = sf.put(
        f"jobs/ingest/{job_id}/batches",
        content=b"LastName\nX\n",
        headers={"Content-Type": "text/csv"},
    )
    assert late.status_code == 400 and error_code(late) == "INVALIDJOBSTATE"
    close = sf.patch(f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})
    assert close.status_code == 400 and error_code(close) == "INVALIDJOBSTATE"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_results_of_a_running_ingest_job_are_empty(sf: ApiClient, org: Org) -> None:
    with bulk.registry(org).hold():
        job_id = sf.post("jobs/ingest", json={"object": "Lead", "operation": "insert"}).json()["id"]
        sf.put(
            f"jobs/ingest/{job_id}/batches",
            content=b"LastName,Company\nA,B\n",
            headers={"Content-Type": "text/csv"},
        )
        sf.patch(f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})
        assert sf.get(f"jobs/ingest/{job_id}").json()["state"] == "UploadComplete"
        assert sf.get(f"jobs/ingest/{job_id}/successfulResults").text == (
            '"sf__Id","sf__Created","LastName","Company"\n'
        )
    assert wait_done(sf, "ingest", job_id)["numberRecordsProcessed"] == 1
    assert len(results(sf, job_id, "successfulResults")) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"object": "Nope", "operation": "insert"}, "INVALIDENTITY"),
        ({"operation": "insert"}, "INVALIDJOB"),
        ({"object": "Lead"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "merge"}, "JSON_PARSER_ERROR"),
        ({"object": "Lead", "operation": "upsert"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "upsert", "externalIdFieldName": "Email"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "insert", "externalIdFieldName": "Id"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "insert", "lineEnding": "CR"}, "JSON_PARSER_ERROR"),
        ("Lead", "JSON_PARSER_ERROR"),
    ],
)
def test_bad_ingest_jobs_are_rejected(sf: ApiClient, body: Any, code: str) -> None:
    response = sf.post("jobs/ingest", json=body)
    assert response.status_code == 400
    assert error_code(response) == code


def test_ingest_job_lifecycle_listing_and_delete(sf: ApiClient) -> None:
    job_id, _ = ingest(sf, "insert", "LastName,Company\nA,B\n")
    listed = sf.get("jobs/ingest").json()
    assert [job["id"] for job in listed["records"]] == [job_id]
    assert listed["records"][0]["state"] == "JobComplete"
    assert sf.delete(f"jobs/ingest/{job_id}").status_code == 204
    gone = sf.get(f"jobs/ingest/{job_id}/successfulResults")
    assert gone.status_code == 404 and error_code(gone) == "NOT_FOUND"
    assert sf.get(f"jobs/ingest/{job_id}/batches").status_code == 405


def test_aborting_a_closed_job_before_it_runs_leaves_all_rows_unprocessed(
    sf: ApiClient, org: Org
) -> None:
    with bulk.registry(org).hold():
        created = sf.post("jobs/ingest", json={"object": "Lead", "operation": "insert"})
        job_id = created.json()["id"]
        sf.put(
            f"jobs/ingest/{job_id}/batches",
            content=b"LastName,Company\nA,B\nC,D\n",
            headers={"Content-Type": "text/csv"},
        )
        sf.patch(f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})
        aborted = sf.patch(f"jobs/ingest/{job_id}", json={"state": "Aborted"})
        assert aborted.json()["state"] == "Aborted"
    info = wait_done(sf, "ingest", job_id)
    assert (info["state"], info["numberRecordsProcessed"]) == ("Aborted", 0)
    assert [r["LastName"] for r in results(sf, job_id, "unprocessedrecords")] == ["A", "C"]
    assert results(sf, job_id, "successfulResults") == []
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
