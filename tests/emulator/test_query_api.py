"""The REST query resources: response shape, paging from a fixed snapshot, locators."""

from __future__ import annotations

import re
from typing import Any

from leadsync.emulator.dml import system_insert
from leadsync.emulator.org import Org
from leadsync.emulator.query import OpenQuery, QueryLocators, compile_query, locators
from tests.conftest import ApiClient

LOCATOR_URL = re.compile(r"^/services/data/v62\.0/(query|queryAll)/01g\w{15}-(\d+)$")


def add_leads(org: Org, count: int, start: int = 0, now: int | None = None) -> list[str]:
    rows = [
        {"LastName": f"L{i:05d}", "Company": "C", "Email": f"p{i}@x.org"}
        for i in range(start, start + count)
    ]
    return system_insert(org, "Lead", rows, now=now)


def all_pages(sf: ApiClient, first: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    records = list(first["records"])
    body = first
    while not body["done"]:
        response = sf.get(body["nextRecordsUrl"], **kw)
        assert response.status_code == 200, response.text
        body = response.json()
        records += body["records"]
    return records


def soft_delete(org: Org, record_id: str) -> None:
    with org.store.write() as conn:
        conn.execute(
            'UPDATE "Lead" SET "IsDeleted" = 1, "SystemModstamp" = "SystemModstamp" + 1 '
            'WHERE "Id" = ?',
            (record_id,),
        )


def test_small_result_is_one_done_page(org: Org, sf: ApiClient) -> None:
    [lead_id] = add_leads(org, 1)
    response = sf.get("query", params={"q": "SELECT Id, Email, Owner.Email FROM Lead"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["totalSize", "done", "records"]
    assert body["totalSize"] == 1 and body["done"] is True
    [record] = body["records"]
    assert record == {
        "attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{lead_id}"},
        "Id": lead_id,
        "Email": "p0@x.org",
        "Owner": record["Owner"],
    }
    assert record["Owner"]["Email"] == "admin@example.com"


def test_trailing_slash_and_other_versions(org: Org, sf: ApiClient) -> None:
    add_leads(org, 1)
    response = sf.get("/services/data/v59.0/query/", params={"q": "SELECT Id FROM Lead"})
    assert response.status_code == 200
    url = response.json()["records"][0]["attributes"]["url"]
    assert url.startswith("/services/data/v59.0/sobjects/Lead/")
    assert sf.get("queryAll/", params={"q": "SELECT Id FROM Lead"}).json()["totalSize"] == 1


def test_count_query(org: Org, sf: ApiClient) -> None:
    add_leads(org, 3)
    body = sf.query("SELECT COUNT() FROM Lead")
    assert body == {"totalSize": 3, "done": True, "records": []}


def test_paging_with_batch_size_header(org: Org, sf: ApiClient) -> None:
    ids = add_leads(org, 450)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.get(
        "queryAll", params={"q": "SELECT Id FROM Lead ORDER BY Id"}, headers=headers
    ).json()
    assert first["totalSize"] == 450 and not first["done"]
    assert len(first["records"]) == 200
    match = LOCATOR_URL.match(first["nextRecordsUrl"])
    assert match is not None and match.group(1) == "queryAll" and match.group(2) == "200"
    second = sf.get(first["nextRecordsUrl"]).json()
    assert len(second["records"]) == 200 and second["totalSize"] == 450
    third = sf.get(second["nextRecordsUrl"]).json()
    assert len(third["records"]) == 50 and third["done"] is True
    assert "nextRecordsUrl" not in third
    got = [r["Id"] for page in (first, second, third) for r in page["records"]]
    assert got == sorted(ids)


def test_batch_size_is_clamped(org: Org, sf: ApiClient) -> None:
    add_leads(org, 2500)
    small = sf.get(
        "query",
        params={"q": "SELECT Id FROM Lead"},
        headers={"Sforce-Query-Options": "batchSize=5"},
    ).json()
    assert len(small["records"]) == 200
    default = sf.query("SELECT Id FROM Lead")
    assert len(default["records"]) == 2000
    big = sf.get(
        "query",
        params={"q": "SELECT Id FROM Lead"},
        headers={"Sforce-Query-Options": "batchSize=99999"},
    ).json()
    assert len(big["records"]) == 2000


def test_pages_come_from_a_snapshot_while_writes_continue(org: Org, sf: ApiClient) -> None:
    original = add_leads(org, 1000, now=1_700_000_000)
    soql = "SELECT Id, Email, SystemModstamp FROM Lead ORDER BY SystemModstamp, Id"
    headers = {"Sforce-Query-Options": "batchSize=200"}
    body = sf.get("queryAll", params={"q": soql}, headers=headers).json()
    seen = [r["Id"] for r in body["records"]]
    step = 0
    while not body["done"]:
        # Between pages: new rows, updates that move rows across pages, deletes.
        add_leads(org, 25, start=10_000 + step * 25, now=1_600_000_000)
        with org.store.write() as conn:
            conn.execute(
                'UPDATE "Lead" SET "SystemModstamp" = 1500000000, "Email" = ? WHERE "Id" = ?',
                (f"moved{step}@x.org", original[-1 - step]),
            )
            conn.execute('DELETE FROM "Lead" WHERE "Id" = ?', (original[500 + step],))
        soft_delete(org, original[900 - step])
        body = sf.get(body["nextRecordsUrl"], params={"q": soql}).json()
        assert body["totalSize"] == 1000
        seen += [r["Id"] for r in body["records"]]
        assert all(not r["Email"].startswith("moved") for r in body["records"])
        step += 1
    assert step == 4
    assert len(seen) == len(set(seen)) == 1000
    assert set(seen) == set(original)
    # A new query sees the writes.
    assert sf.query("SELECT COUNT() FROM Lead", all_rows=True)["totalSize"] == 1000 + 4 * 25 - 4


def test_locator_pages_can_be_read_again(org: Org, sf: ApiClient) -> None:
    add_leads(org, 700)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.get("query", params={"q": "SELECT Id FROM Lead ORDER BY Id"}, headers=headers).json()
    url = first["nextRecordsUrl"]
    again = [sf.get(url).json() for _ in range(2)]
    assert again[0]["records"] == again[1]["records"]
    assert again[0]["nextRecordsUrl"] == again[1]["nextRecordsUrl"]
    # Jumping back to the start of the same cursor works too.
    restart = sf.get(url.rsplit("-", 1)[0] + "-0").json()
    assert restart["records"] == first["records"]


def test_locator_errors(org: Org, sf: ApiClient) -> None:
    add_leads(org, 300)
    for token in ("01g5e0000000099AAA-200", "garbage", "01g5e0000000001AAA-x"):
        response = sf.get(f"query/{token}")
        assert response.status_code == 400
        assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.get("query", params={"q": "SELECT Id FROM Lead"}, headers=headers).json()
    last = sf.get(first["nextRecordsUrl"]).json()
    assert last["done"]
    # Served to the end: the cursor is closed.
    assert sf.get(first["nextRecordsUrl"]).status_code == 400
    assert len(locators(org)) == 0


def test_locators_expire_after_fifteen_idle_minutes(org: Org, sf: ApiClient) -> None:
    add_leads(org, 300)
    org.clock.freeze()
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.get("query", params={"q": "SELECT Id FROM Lead"}, headers=headers).json()
    org.clock.advance(16 * 60)
    response = sf.get(first["nextRecordsUrl"])
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_registry_evicts_the_oldest_cursor(org: Org) -> None:
    registry = QueryLocators(org.clock, max_open=2)
    made = []
    for _ in range(3):
        conn = org.store.snapshot()
        cursor = conn.execute("SELECT 1")
        compiled = compile_query(
            org,
            org.definition.profiles["System Administrator"],
            "SELECT Id FROM Lead",
            include_deleted=False,
        )
        made.append(OpenQuery(compiled, conn, cursor, 0, 0, 200, False, org.clock.now_float()))
    keys = [registry.register(q) for q in made]
    assert len(registry) == 2
    assert registry.get(keys[0]) is None and made[0].closed
    assert registry.get(keys[2]) is made[2]
    registry.close_all()
    assert all(q.closed for q in made)


def test_query_hides_deleted_rows_and_query_all_shows_them(org: Org, sf: ApiClient) -> None:
    live, gone = add_leads(org, 2)
    soft_delete(org, gone)
    assert sf.query("SELECT Id FROM Lead WHERE IsDeleted = true")["totalSize"] == 0
    assert [r["Id"] for r in sf.query("SELECT Id FROM Lead")["records"]] == [live]
    body = sf.query("SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true", all_rows=True)
    assert [(r["Id"], r["IsDeleted"]) for r in body["records"]] == [(gone, True)]


def test_query_errors_use_the_rest_envelope(sf: ApiClient) -> None:
    cases = {
        "SELECT Id FORM Lead": "MALFORMED_QUERY",
        "SELECT Foo FROM Lead": "INVALID_FIELD",
        "SELECT Id FROM Nope": "INVALID_TYPE",
        "SELECT Internal_Notes__c FROM Lead": "INVALID_FIELD",
    }
    for soql, code in cases.items():
        response = sf.get("query", params={"q": soql})
        assert response.status_code == 400, soql
        [error] = response.json()
        assert error["errorCode"] == code
        assert "Sforce-Limit-Info" in response.headers
    missing = sf.get("query")
    assert missing.status_code == 400
    assert missing.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_airbyte_can_parse_the_missing_column(sf: ApiClient) -> None:
    response = sf.get(
        "queryAll", params={"q": "SELECT Id,Name,Secret__c FROM Lead ORDER BY Id ASC"}
    )
    message = response.json()[0]["message"]
    match = re.search(r"No such column '(?P<field>[^']+)' on entity", message)
    assert match is not None and match.group("field") == "Secret__c"


def test_client_query_shapes(org: Org, sf: ApiClient) -> None:
    add_leads(org, 3, now=1_714_566_896)  # 2024-05-01T12:34:56Z
    shapes = [
        "SELECT Id,Email FROM Lead WHERE SystemModstamp >= 2024-05-01T12:34:56.000000Z  "
        "ORDER BY SystemModstamp ASC",
        "SELECT Id,Email FROM Lead WHERE SystemModstamp >= 2024-05-01T12:34:56.000000Z  "
        "AND SystemModstamp < 2024-05-02T00:00:00.000000Z ORDER BY SystemModstamp ASC",
        "SELECT Id,Name FROM Lead ORDER BY Id ASC",
        "SELECT Id, Name FROM Lead WHERE SystemModstamp >= 2024-05-01T12:34:56.000+00:00 AND "
        "SystemModstamp < 2024-05-31T12:34:56.000+00:00",
        "SELECT Id FROM Lead WHERE SystemModstamp >= 2024-05-01T12:34:56.000Z",
    ]
    for soql in shapes:
        assert sf.query(soql, all_rows=True)["totalSize"] == 3, soql
    assert (
        sf.query("SELECT Id FROM Lead WHERE SystemModstamp > 2024-05-01T12:34:56Z", all_rows=True)[
            "totalSize"
        ]
        == 0
    )


def test_aggregate_records_over_rest(org: Org, sf: ApiClient) -> None:
    add_leads(org, 3)
    body = sf.query("SELECT COUNT(Id) n, MAX(Email) FROM Lead")
    assert body["totalSize"] == 1
    assert body["records"] == [
        {"attributes": {"type": "AggregateResult"}, "n": 3, "expr0": "p2@x.org"}
    ]


def test_child_sub_query_over_rest(org: Org, sf: ApiClient) -> None:
    accounts = system_insert(org, "Account", [{"Name": f"A{i:04d}"} for i in range(250)])
    system_insert(org, "Contact", [{"LastName": "C", "AccountId": a} for a in accounts])
    headers = {"Sforce-Query-Options": "batchSize=200"}
    soql = "SELECT Name, (SELECT LastName FROM Contacts) FROM Account ORDER BY Name"
    first = sf.get("query", params={"q": soql}, headers=headers).json()
    records = all_pages(sf, first)
    assert len(records) == 250
    assert all(r["Contacts"]["records"][0]["LastName"] == "C" for r in records)
