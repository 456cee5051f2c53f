"""sObject Collections, `/composite` (references, allOrNone rollback) and `/composite/batch`."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.emulator.org import Org

from ..conftest import ApiClient

BASE = "/services/data/v62.0"


def lead(last: str, company: str | None = "Acme", **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Lead"}, "LastName": last, **extra}
    if company is not None:
        record["Company"] = company
    return record


def count(sf: ApiClient, soql: str) -> int:
    return int(sf.query(soql)["totalSize"])


def create(sf: ApiClient, records: list[dict[str, Any]], all_or_none: bool = False) -> Any:
    response = sf.post("composite/sobjects", json={"allOrNone": all_or_none, "records": records})
    assert response.status_code == 200, response.text
    return response.json()


# -- sObject Collections -------------------------------------------------------------------


def test_create_reports_each_record_in_order(sf: ApiClient) -> None:
    results = create(
        sf,
        [
            lead("Ada"),
            lead("NoCompany", company=None),
            {"LastName": "Typeless"},
            {"attributes": {"type": "Contact"}, "LastName": "Mixed"},
        ],
    )
    assert results[0]["success"] is True and results[0]["id"].startswith("00Q")
    assert results[0]["errors"] == [] and "created" not in results[0]
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Company]",
                "fields": ["Company"],
            }
        ],
    }
    assert results[2]["success"] is False
    assert results[2]["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert results[3]["success"] is True and results[3]["id"].startswith("003")
    assert count(sf, "SELECT Id FROM Lead") == 1


def test_create_all_or_none_writes_nothing_when_one_fails(sf: ApiClient) -> None:
    results = create(sf, [lead("Ada"), lead("Bad", company=None), lead("Cy")], all_or_none=True)
    assert [r["success"] for r in results] == [False, False, False]
    assert "id" not in results[0]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert count(sf, "SELECT Id FROM Lead") == 0


def test_missing_type_with_all_or_none_rolls_back_the_rest(sf: ApiClient) -> None:
    results = create(sf, [lead("Ada"), {"LastName": "Typeless"}], all_or_none=True)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert count(sf, "SELECT Id FROM Lead") == 0


def test_update_with_partial_failures(sf: ApiClient) -> None:
    [first, second] = [r["id"] for r in create(sf, [lead("Ada"), lead("Bo")])]
    response = sf.patch(
        "composite/sobjects",
        json={
            "records": [
                {"attributes": {"type": "Lead"}, "id": first, "Title": "CTO"},
                {"attributes": {"type": "Lead"}, "Id": second, "LastName": None},
                {"attributes": {"type": "Lead"}, "Title": "no id"},
            ]
        },
    )
    assert response.status_code == 200
    results = response.json()
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert sf.query(f"SELECT Title FROM Lead WHERE Id = '{first}'")["records"][0]["Title"] == "CTO"


def test_upsert_creates_then_updates_by_external_id(sf: ApiClient) -> None:
    def upsert(records: list[dict[str, Any]]) -> Any:
        response = sf.patch("composite/sobjects/Lead/LeadSync_Id__c", json={"records": records})
        assert response.status_code == 200, response.text
        return response.json()

    [made] = upsert([lead("Ada", LeadSync_Id__c="p-1")])
    assert made["success"] is True and made["created"] is True
    [again, missing_type] = upsert([lead("Ada2", LeadSync_Id__c="p-1"), {"LastName": "x"}])
    assert again == {"id": made["id"], "success": True, "errors": [], "created": False}
    assert missing_type["success"] is False
    assert sf.query("SELECT LastName FROM Lead")["records"][0]["LastName"] == "Ada2"
    bad_field = sf.patch("composite/sobjects/Lead/Nope__c", json={"records": [lead("Z")]})
    assert bad_field.status_code == 404
    assert bad_field.json()[0]["errorCode"] == "NOT_FOUND"


def test_delete_by_ids_with_all_or_none_flag(sf: ApiClient) -> None:
    [first, second] = [r["id"] for r in create(sf, [lead("Ada"), lead("Bo")])]
    rolled = sf.delete(
        "composite/sobjects", params={"ids": f"{first},001000000000000", "allOrNone": "true"}
    )
    assert rolled.status_code == 200
    assert [r["success"] for r in rolled.json()] == [False, False]
    assert count(sf, "SELECT Id FROM Lead") == 2
    response = sf.delete("composite/sobjects/", params={"ids": f"{first},{second}"})
    assert [r["success"] for r in response.json()] == [True, True]
    assert response.json()[0] == {"id": first, "success": True, "errors": []}
    assert count(sf, "SELECT Id FROM Lead") == 0


def test_retrieve_by_get_and_post(sf: ApiClient) -> None:
    [made] = [r["id"] for r in create(sf, [lead("Ada", Email="ada@example.com")])]
    unknown = "00Q000000000009AAA"
    response = sf.get(
        "composite/sobjects/lead",
        params={"ids": f"{made},{unknown}", "fields": "Id,LastName,Email"},
    )
    assert response.status_code == 200
    record, nothing = response.json()
    assert nothing is None
    assert record == {
        "attributes": {"type": "Lead", "url": f"{BASE}/sobjects/Lead/{made}"},
        "Id": made,
        "LastName": "Ada",
        "Email": "ada@example.com",
    }
    posted = sf.post("composite/sobjects/Lead", json={"ids": [made], "fields": ["Company"]})
    assert posted.json() == [{"attributes": record["attributes"], "Company": "Acme"}]
    hidden = sf.get("composite/sobjects/Lead", params={"ids": made, "fields": "Internal_Notes__c"})
    assert hidden.status_code == 400
    assert hidden.json()[0]["errorCode"] == "INVALID_FIELD"


def test_more_than_200_records_is_refused(sf: ApiClient) -> None:
    response = sf.post("composite/sobjects", json={"records": [lead(f"L{i}") for i in range(201)]})
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
            "fields": [],
        }
    ]
    ids = ",".join(["00Q000000000001AAA"] * 201)
    assert sf.delete("composite/sobjects", params={"ids": ids}).status_code == 400
    assert count(sf, "SELECT Id FROM Lead") == 0


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "composite/sobjects", b"{not json"),
        ("POST", "composite/sobjects", b"[1, 2]"),
        ("POST", "composite/sobjects", b'{"records": "nope"}'),
        ("PATCH", "composite/sobjects", b'{"records": [1, "x", null]}'),
        ("POST", "composite/sobjects", b'{"records": [], "allOrNone": "maybe"}'),
        ("POST", "composite/sobjects", b'{"records": [{"attributes": {"type": "Nope"}}]}'),
        ("DELETE", "composite/sobjects", b""),
        ("GET", "composite/sobjects/Lead", b""),
        ("POST", "composite/sobjects/Lead", b'{"ids": 5}'),
        ("PATCH", "composite/sobjects/Lead/LeadSync_Id__c", b"\xff\xfe"),
        ("POST", "composite", b"{}"),
        ("POST", "composite", b'{"compositeRequest": [{"method": "GET"}]}'),
        (
            "POST",
            "composite",
            b'{"compositeRequest": [{"method": "GET", "url": "/x", "referenceId": "bad id"}]}',
        ),
        (
            "POST",
            "composite",
            b'{"compositeRequest": [{"method": "FETCH", "url": "/x", "referenceId": "a"}]}',
        ),
        ("POST", "composite/batch", b'{"batchRequests": 3}'),
        ("POST", "composite/batch", b'{"batchRequests": [7]}'),
        ("POST", "composite/batch", b"null"),
    ],
)
def test_garbage_gets_a_400_envelope(sf: ApiClient, method: str, path: str, payload: bytes) -> None:
    response = sf.request(
        method, path, content=payload, headers={"Content-Type": "application/json"}
    )
    if response.status_code == 200:
        # Per-record problems are reported per record, never as a crash.
        assert all(r["success"] is False for r in response.json())
        return
    assert response.status_code in (400, 404), response.text
    [error] = response.json()
    assert set(error) == {"message", "errorCode", "fields"}


# -- /composite ----------------------------------------------------------------------------


def account_then_contact(all_or_none: bool, contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "allOrNone": all_or_none,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{BASE}/sobjects/Account",
                "referenceId": "acct",
                "body": {"Name": "Acme"},
            },
            {
                "method": "POST",
                "url": f"{BASE}/sobjects/Contact",
                "referenceId": "ct",
                "body": {"AccountId": "@{acct.id}", **contact},
            },
            {
                "method": "GET",
                "url": "v62.0/query?q=SELECT+Id,Name+FROM+Account",
                "referenceId": "q",
            },
            {
                "method": "PATCH",
                "url": f"{BASE}/sobjects/Account/@{{q.records[0].Id}}",
                "referenceId": "upd",
                "body": {"Phone": "555 0100"},
            },
        ],
    }


@pytest.mark.parametrize("all_or_none", [False, True])
def test_composite_resolves_references(sf: ApiClient, org: Org, all_or_none: bool) -> None:
    before = org.limits.used
    response = sf.post("composite", json=account_then_contact(all_or_none, {"LastName": "Lin"}))
    assert org.limits.used == before + 1  # one composite call is one API request
    assert response.status_code == 200
    acct, ct, query, update = response.json()["compositeResponse"]
    assert acct["httpStatusCode"] == 201 and acct["referenceId"] == "acct"
    account_id = acct["body"]["id"]
    assert acct["httpHeaders"] == {"Location": f"{BASE}/sobjects/Account/{account_id}"}
    assert ct["httpStatusCode"] == 201
    assert query["body"]["records"][0]["Id"] == account_id
    assert update["httpStatusCode"] == 204 and update["body"] is None
    contact = sf.query(f"SELECT AccountId FROM Contact WHERE Id = '{ct['body']['id']}'")
    assert contact["records"][0]["AccountId"] == account_id
    assert sf.query("SELECT Phone FROM Account")["records"][0]["Phone"] == "555 0100"


def test_composite_all_or_none_rolls_everything_back(sf: ApiClient) -> None:
    body = account_then_contact(True, {"FirstName": "No last name"})
    response = sf.post("composite", json=body)
    assert response.status_code == 200
    acct, ct, query, update = response.json()["compositeResponse"]
    assert ct["httpStatusCode"] == 400
    assert ct["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for halted in (acct, query, update):
        assert halted["httpStatusCode"] == 400
        assert halted["body"] == [
            {
                "errorCode": "PROCESSING_HALTED",
                "message": "The transaction was rolled back since another operation in the same "
                "transaction failed.",
            }
        ]
    assert count(sf, "SELECT Id FROM Account") == 0
    assert count(sf, "SELECT Id FROM Contact") == 0


def test_composite_without_all_or_none_keeps_successes(sf: ApiClient) -> None:
    body = account_then_contact(False, {"FirstName": "No last name"})
    acct, ct, query, update = sf.post("composite", json=body).json()["compositeResponse"]
    assert acct["httpStatusCode"] == 201
    assert ct["httpStatusCode"] == 400
    assert ct["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert query["httpStatusCode"] == 200 and update["httpStatusCode"] == 204
    assert count(sf, "SELECT Id FROM Account") == 1


@pytest.mark.parametrize("all_or_none", [False, True])
def test_reference_to_failed_or_unknown_request_halts(sf: ApiClient, all_or_none: bool) -> None:
    body = {
        "allOrNone": all_or_none,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{BASE}/sobjects/Account",
                "referenceId": "bad",
                "body": {"Name": None},
            },
            {
                "method": "POST",
                "url": f"{BASE}/sobjects/Contact",
                "referenceId": "ct",
                "body": {"LastName": "Lin", "AccountId": "@{bad.id}"},
            },
            {"method": "GET", "url": f"{BASE}/sobjects/Account/@{{ghost.id}}", "referenceId": "g"},
        ],
    }
    bad, ct, ghost = sf.post("composite", json=body).json()["compositeResponse"]
    assert bad["httpStatusCode"] == 400
    assert ct["httpStatusCode"] == 400
    assert ct["body"][0]["errorCode"] == "PROCESSING_HALTED"
    if not all_or_none:
        assert ct["body"][0]["message"] == (
            "Invalid reference specified. No value for bad.id found in bad."
        )
        assert ghost["body"][0]["message"].startswith("Invalid reference specified")
    assert count(sf, "SELECT Id FROM Contact") == 0


def test_composite_refuses_more_than_25_subrequests(sf: ApiClient) -> None:
    subs = [{"method": "GET", "url": f"{BASE}/limits", "referenceId": f"r{i}"} for i in range(26)]
    response = sf.post("composite", json={"compositeRequest": subs})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "LIMIT_EXCEEDED"


# -- at most five query and collections sub-requests per /composite ---------------------------


def query_sub(i: int, resource: str = "queryAll") -> dict[str, Any]:
    return {
        "method": "GET",
        "url": f"{BASE}/{resource}/?q=SELECT+Id+FROM+Lead",
        "referenceId": f"q{i}",
    }


def create_sub(last: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": f"{BASE}/sobjects/Lead",
        "referenceId": f"new{last}",
        "body": {"LastName": last, "Company": "Acme"},
    }


@pytest.mark.parametrize("all_or_none", [False, True])
def test_six_query_all_subrequests_are_refused_before_anything_runs(
    sf: ApiClient, all_or_none: bool
) -> None:
    subs = [create_sub("Early"), *(query_sub(i) for i in range(6))]
    response = sf.post("composite", json={"allOrNone": all_or_none, "compositeRequest": subs})
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "LIMIT_EXCEEDED"
    assert "at most 5" in error["message"] and "found 6" in error["message"]
    assert count(sf, "SELECT Id FROM Lead") == 0  # the create before the queries never ran


@pytest.mark.parametrize("all_or_none", [False, True])
def test_five_query_all_subrequests_are_accepted(sf: ApiClient, all_or_none: bool) -> None:
    subs = [create_sub("Ada"), *(query_sub(i) for i in range(5))]
    response = sf.post("composite", json={"allOrNone": all_or_none, "compositeRequest": subs})
    assert response.status_code == 200, response.text
    created, *queries = response.json()["compositeResponse"]
    assert created["httpStatusCode"] == 201
    assert [q["httpStatusCode"] for q in queries] == [200] * 5
    assert [q["body"]["totalSize"] for q in queries] == [1] * 5


@pytest.mark.parametrize("all_or_none", [False, True])
def test_five_queries_and_twenty_record_reads_fill_a_composite(
    sf: ApiClient, all_or_none: bool
) -> None:
    [made] = create(sf, [lead("Ada")])
    reads = [
        {"method": "GET", "url": f"{BASE}/sobjects/Lead/{made['id']}", "referenceId": f"r{i}"}
        for i in range(20)
    ]
    subs = [*(query_sub(i, "query") for i in range(5)), *reads]
    response = sf.post("composite", json={"allOrNone": all_or_none, "compositeRequest": subs})
    assert response.status_code == 200, response.text
    results = response.json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [200] * 25
    assert {r["body"]["LastName"] for r in results[5:]} == {"Ada"}


SIXTH = {
    "query": {"method": "GET", "url": f"{BASE}/query?q=SELECT+Id+FROM+Lead"},
    "query more": {"method": "GET", "url": f"{BASE}/query/01gD0000002HU6KIAW-2000"},
    "short url": {"method": "GET", "url": "v62.0/queryAll/?q=SELECT+Id+FROM+Lead"},
    "collections create": {
        "method": "POST",
        "url": f"{BASE}/composite/sobjects",
        "body": {"records": [lead("Bo")]},
    },
    "collections retrieve": {
        "method": "GET",
        "url": f"{BASE}/composite/sobjects/Lead?ids=00Q000000000001AAA&fields=Id",
    },
}


@pytest.mark.parametrize("kind", sorted(SIXTH))
def test_query_more_and_collections_count_toward_the_five(sf: ApiClient, kind: str) -> None:
    subs = [*(query_sub(i, "query") for i in range(5)), {**SIXTH[kind], "referenceId": "sixth"}]
    response = sf.post("composite", json={"compositeRequest": subs})
    assert response.status_code == 400, response.text
    assert response.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    # The same sixth sub-request beside four queries is fine: the count, not the kind, refuses.
    response = sf.post("composite", json={"compositeRequest": subs[1:]})
    assert response.status_code == 200, response.text


def test_composite_collections_subrequest_inside_transaction(sf: ApiClient) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{BASE}/composite/sobjects",
                "referenceId": "many",
                "body": {"records": [lead("Ada"), lead("Bo")]},
            },
            {
                "method": "GET",
                "url": f"{BASE}/sobjects/Lead/@{{many[1].id}}?fields=LastName",
                "referenceId": "read",
            },
            {
                "method": "DELETE",
                "url": f"{BASE}/sobjects/Lead/@{{many[0].id}}",
                "referenceId": "gone",
            },
        ],
    }
    many, read, gone = sf.post("composite", json=body).json()["compositeResponse"]
    assert many["httpStatusCode"] == 200 and [r["success"] for r in many["body"]] == [True, True]
    assert read["body"]["LastName"] == "Bo"
    assert gone["httpStatusCode"] == 204
    assert count(sf, "SELECT Id FROM Lead") == 1


# -- /composite/batch ----------------------------------------------------------------------


def test_batch_of_25_describes_like_tap(sf: ApiClient, org: Org) -> None:
    names = [o["name"] for o in sf.get("/services/data/v61.0/sobjects").json()["sobjects"]]
    chunk = (names * 2)[:25]
    before = org.limits.used
    response = sf.post(
        "/services/data/v61.0/composite/batch",
        json={
            "haltOnError": True,
            "batchRequests": [
                {"method": "GET", "url": f"/services/data/v61.0/sobjects/{n}/describe"}
                for n in chunk
            ],
        },
    )
    assert org.limits.used == before + 25  # each batch sub-request is one API request
    assert response.status_code == 200
    body = response.json()
    assert body["hasErrors"] is False and len(body["results"]) == 25
    for name, result in zip(chunk, body["results"], strict=True):
        assert result["statusCode"] == 200
        assert result["result"]["name"] == name and result["result"]["fields"]
        assert result["result"]["urls"]["describe"].startswith("/services/data/v61.0/")


# -- API usage: /composite is one request, /composite/batch one per sub-request ---------------


def test_batch_counts_each_subrequest_against_the_budget(sf: ApiClient, org: Org) -> None:
    before = org.limits.used
    response = sf.post(
        "composite/batch", json={"batchRequests": [{"method": "GET", "url": "v62.0/limits"}] * 7}
    )
    assert response.status_code == 200
    assert org.limits.used == before + 7
    assert response.headers["Sforce-Limit-Info"] == f"api-usage={before + 7}/{org.limits.maximum}"
    remaining = [r["result"]["DailyApiRequests"]["Remaining"] for r in response.json()["results"]]
    # Each /limits sub-request sees the requests counted so far, its own included.
    assert remaining == [org.limits.maximum - before - n for n in range(1, 8)]
    after = sf.get("limits").json()["DailyApiRequests"]["Remaining"]
    assert after == org.limits.maximum - (before + 8)


@pytest.mark.parametrize("all_or_none", [False, True])
def test_composite_of_ten_subrequests_is_one_request(
    sf: ApiClient, org: Org, all_or_none: bool
) -> None:
    subs = [
        {"method": "GET", "url": f"{BASE}/sobjects/Lead/describe", "referenceId": f"d{i}"}
        for i in range(10)
    ]
    before = org.limits.used
    response = sf.post("composite", json={"allOrNone": all_or_none, "compositeRequest": subs})
    assert response.status_code == 200
    assert [r["httpStatusCode"] for r in response.json()["compositeResponse"]] == [200] * 10
    assert org.limits.used == before + 1
    assert response.headers["Sforce-Limit-Info"] == f"api-usage={before + 1}/{org.limits.maximum}"


def test_batch_running_out_of_budget_refuses_the_rest_one_by_one(sf: ApiClient, org: Org) -> None:
    org.limits.set_used(org.limits.maximum - 3)
    subs = [
        {
            "method": "POST",
            "url": "v62.0/sobjects/Lead",
            "richInput": {"LastName": f"L{i}", "Company": "C"},
        }
        for i in range(5)
    ]
    response = sf.post("composite/batch", json={"batchRequests": subs})
    assert response.status_code == 200
    body = response.json()
    assert body["hasErrors"] is True
    assert [r["statusCode"] for r in body["results"]] == [201, 201, 201, 403, 403]
    assert {r["result"][0]["errorCode"] for r in body["results"][3:]} == {"REQUEST_LIMIT_EXCEEDED"}
    assert org.limits.used == org.limits.maximum
    assert response.headers["Sforce-Limit-Info"] == (
        f"api-usage={org.limits.maximum}/{org.limits.maximum}"
    )
    org.limits.set_used(0)
    assert count(sf, "SELECT Id FROM Lead") == 3  # refused sub-requests wrote nothing


def test_batch_out_of_budget_with_halt_on_error_halts_the_rest(sf: ApiClient, org: Org) -> None:
    org.limits.set_used(org.limits.maximum - 1)
    response = sf.post(
        "composite/batch",
        json={"haltOnError": True, "batchRequests": [{"method": "GET", "url": "v62.0/limits"}] * 3},
    )
    assert [r["statusCode"] for r in response.json()["results"]] == [200, 403, 412]
    assert org.limits.used == org.limits.maximum  # a halted sub-request is not counted


def test_batch_halt_on_error_and_rich_input(sf: ApiClient) -> None:
    response = sf.post(
        "composite/batch",
        json={
            "haltOnError": True,
            "batchRequests": [
                {
                    "method": "POST",
                    "url": "v62.0/sobjects/Lead",
                    "richInput": {"LastName": "A", "Company": "C"},
                },
                {"method": "GET", "url": "v62.0/sobjects/Nope__c/describe"},
                {"method": "GET", "url": "v62.0/sobjects/Lead/describe"},
            ],
        },
    )
    body = response.json()
    assert body["hasErrors"] is True
    created, missing, halted = body["results"]
    assert created["statusCode"] == 201 and created["result"]["success"] is True
    assert missing["statusCode"] == 404 and missing["result"][0]["errorCode"] == "NOT_FOUND"
    assert halted["statusCode"] == 412
    assert halted["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    assert count(sf, "SELECT Id FROM Lead") == 1


def test_batch_without_halt_runs_everything(sf: ApiClient) -> None:
    response = sf.post(
        "composite/batch",
        json={
            "batchRequests": [
                {"method": "GET", "url": "v62.0/sobjects/Nope__c/describe"},
                {"method": "GET", "url": "v12.0/sobjects/Lead/describe"},
                {"method": "GET", "url": "v62.0/sobjects/Lead/describe"},
            ]
        },
    )
    statuses = [r["statusCode"] for r in response.json()["results"]]
    assert statuses == [404, 404, 200]
    mixed = sf.post(
        "composite/batch",
        json={
            "batchRequests": [
                {"method": "GET", "url": "v59.0/sobjects/Lead/describe"},
            ]
        },
    ).json()["results"][0]["result"]
    assert mixed["urls"]["sobject"] == "/services/data/v59.0/sobjects/Lead"
    unrouted = sf.post(
        "composite/batch",
        json={
            "batchRequests": [
                {"method": "GET", "url": "v62.0/no/such/resource"},
                {"method": "PUT", "url": "v62.0/sobjects/Lead/describe"},
            ]
        },
    ).json()["results"]
    assert [r["statusCode"] for r in unrouted] == [404, 405]
    assert [r["result"][0]["errorCode"] for r in unrouted] == ["NOT_FOUND", "METHOD_NOT_ALLOWED"]
    too_many = sf.post(
        "composite/batch", json={"batchRequests": [{"method": "GET", "url": "v62.0/limits"}] * 26}
    )
    assert too_many.status_code == 400


def test_composite_calls_do_not_nest_and_unknown_objects_are_not_found(sf: ApiClient) -> None:
    for all_or_none in (False, True):
        body = {
            "allOrNone": all_or_none,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{BASE}/composite",
                    "referenceId": "inner",
                    "body": {"compositeRequest": []},
                },
                {
                    "method": "POST",
                    "url": f"{BASE}/sobjects/Nope__c",
                    "referenceId": "nope",
                    "body": {},
                },
            ],
        }
        inner, nope = sf.post("composite", json=body).json()["compositeResponse"]
        assert inner["httpStatusCode"] == 400
        assert inner["body"][0]["errorCode"] == "INVALID_INPUT"
        if not all_or_none:
            assert nope["httpStatusCode"] == 404
            assert nope["body"][0]["errorCode"] == "NOT_FOUND"


def test_atomic_describe_and_row_read_follow_field_level_security(sf: ApiClient) -> None:
    [made] = [r["id"] for r in create(sf, [lead("Ada")])]
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "GET", "url": f"{BASE}/sobjects/Lead/describe", "referenceId": "d"},
            {"method": "GET", "url": f"{BASE}/sobjects/Lead/{made}", "referenceId": "row"},
        ],
    }
    described, row = sf.post("composite", json=body).json()["compositeResponse"]
    names = {f["name"] for f in described["body"]["fields"]}
    assert "Internal_Notes__c" not in names and "LastName" in names
    assert row["httpStatusCode"] == 200
    assert "Internal_Notes__c" not in row["body"] and row["body"]["LastName"] == "Ada"


# -- garbage never crashes -----------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
_keys = st.sampled_from(
    [
        "records",
        "allOrNone",
        "attributes",
        "type",
        "Lead",
        "LastName",
        "Company",
        "id",
        "compositeRequest",
        "method",
        "url",
        "referenceId",
        "body",
        "batchRequests",
        "haltOnError",
        "richInput",
        "ids",
        "fields",
        "@{a.id}",
    ]
)
_json = st.recursive(
    _scalars | st.sampled_from(["GET", "POST", "PATCH", "v62.0/sobjects/Lead", "a", "Lead"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=_json,
    target=st.sampled_from(
        [
            ("POST", "composite/sobjects"),
            ("PATCH", "composite/sobjects"),
            ("POST", "composite/sobjects/Lead"),
            ("PATCH", "composite/sobjects/Lead/LeadSync_Id__c"),
            ("POST", "composite"),
            ("POST", "composite/batch"),
        ]
    ),
)
def test_generated_bodies_never_give_a_500(
    sf: ApiClient, payload: Any, target: tuple[str, str]
) -> None:
    method, path = target
    response = sf.request(method, path, json=payload)
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code != 200:
        assert {"message", "errorCode"} <= set(response.json()[0])
