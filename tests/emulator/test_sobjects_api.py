"""sObject rows over REST: create, read, update, delete, external ids, updated/deleted."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from leadsync.emulator.api import sobjects
from leadsync.emulator.dml import system_insert
from leadsync.emulator.org import Org
from leadsync.emulator.schema import Profile
from leadsync.emulator.values import format_datetime_json

from ..conftest import ApiClient

LEAD = {"FirstName": "Ada", "LastName": "Lovelace", "Company": "Analytical Engines"}
T0 = 1_790_000_000  # 2026-09-21T14:13:20Z


def create(sf: ApiClient, values: dict[str, Any] | None = None, obj: str = "Lead") -> str:
    response = sf.post(
        f"sobjects/{obj}/", json={**LEAD, **(values or {})} if obj == "Lead" else values
    )
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and body[0]["errorCode"] == code, body
    assert set(body[0]) == {"message", "errorCode", "fields"}
    first: dict[str, Any] = body[0]
    return first


def stamp(seconds: int) -> str:
    """A replication parameter as simple-salesforce sends it (URL-encoded, +00:00 offset)."""
    text = format_datetime_json(seconds).replace(".000+0000", "+00:00")
    return quote(text, safe="")


# -- create ------------------------------------------------------------------------------------


def test_create_answers_201_with_id(sf: ApiClient) -> None:
    response = sf.post("sobjects/lead", json=LEAD)
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "success": True, "errors": []}
    assert body["id"].startswith("00Q") and len(body["id"]) == 18


def test_create_errors_use_the_rest_list_envelope(sf: ApiClient) -> None:
    error = assert_error(
        sf.post("sobjects/Lead/", json={"LastName": "x"}), 400, "REQUIRED_FIELD_MISSING"
    )
    assert error == {
        "message": "Required fields are missing: [Company]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["Company"],
    }
    hidden = assert_error(
        sf.post("sobjects/Lead/", json={**LEAD, "Internal_Notes__c": "x"}), 400, "INVALID_FIELD"
    )
    assert hidden["message"] == "No such column 'Internal_Notes__c' on sobject of type Lead"


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        b'[{"LastName": "x"}]',
        b'"text"',
        b"42",
        b"",
        b"null",
        b'{"LastName": 5e999}',
        b'{"LastName": [1, 2]}',
        b'{"NumberOfEmployees": {"a": 1}}',
        b'{"OwnerId": true}',
        b'{"CreatedDate": "yesterday"}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_never_answer_500(sf: ApiClient, payload: bytes) -> None:
    response = sf.post(
        "sobjects/Lead/", content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()[0]["errorCode"] in {
        "JSON_PARSER_ERROR",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "REQUIRED_FIELD_MISSING",
    }


def test_bad_json_and_list_bodies_are_json_parser_errors(sf: ApiClient) -> None:
    assert_error(sf.post("sobjects/Lead", content=b"{oops"), 400, "JSON_PARSER_ERROR")
    assert_error(sf.post("sobjects/Lead", json=[LEAD]), 400, "JSON_PARSER_ERROR")
    record_id = create(sf)
    assert_error(sf.patch(f"sobjects/Lead/{record_id}", content=b"[1]"), 400, "JSON_PARSER_ERROR")


def test_unknown_and_hidden_objects_are_not_found(
    sf: ApiClient, org: Org, http: TestClient
) -> None:
    assert_error(sf.post("sobjects/Spaceship__c/", json={"Name": "x"}), 404, "NOT_FOUND")
    assert_error(sf.get("sobjects/Spaceship__c/00Q5e0000000001EAA"), 404, "NOT_FOUND")
    assert_error(
        sf.get("sobjects/Spaceship__c/updated/", params={"start": "x", "end": "y"}),
        404,
        "NOT_FOUND",
    )
    user = org.find_user("sync@example.com")
    assert user is not None
    token = org.sessions.issue(
        user.id, user.username, Profile("NoLeads", hidden_objects=frozenset({"lead"})), "t"
    ).token
    blind = ApiClient(http, token)
    assert_error(blind.post("sobjects/Lead/", json=LEAD), 404, "NOT_FOUND")


# -- read --------------------------------------------------------------------------------------


def test_get_returns_every_visible_field_with_attributes(
    sf: ApiClient, sf_admin: ApiClient
) -> None:
    record_id = create(sf, {"City": "London", "Email": "ada@example.com"})
    response = sf.get(f"sobjects/LEAD/{record_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v62.0/sobjects/Lead/{record_id}",
    }
    assert body["Id"] == record_id and body["Name"] == "Ada Lovelace"
    assert body["Title"] is None and body["IsDeleted"] is False
    assert body["Address"]["city"] == "London" and body["Address"]["street"] is None
    assert body["CreatedDate"].endswith(".000+0000")
    assert "Internal_Notes__c" not in body
    assert "Internal_Notes__c" in sf_admin.get(f"sobjects/Lead/{record_id}").json()
    other_version = sf.get(f"/services/data/v59.0/sobjects/Lead/{record_id}/").json()
    assert other_version["attributes"]["url"].startswith("/services/data/v59.0/")


def test_get_with_fields_list(sf: ApiClient) -> None:
    record_id = create(sf)
    body = sf.get(f"sobjects/Lead/{record_id}", params={"fields": "lastname,Email,Address"}).json()
    assert list(body) == ["attributes", "LastName", "Email", "Address"]
    assert body["Address"] is None and body["Email"] is None
    assert_error(
        sf.get(f"sobjects/Lead/{record_id}", params={"fields": "Internal_Notes__c"}),
        400,
        "INVALID_FIELD",
    )


def test_get_bad_ids(sf: ApiClient) -> None:
    record_id = create(sf)
    contact_id = create(sf, {"LastName": "C"}, obj="Contact")
    assert_error(sf.get("sobjects/Lead/00Q5e000000ZZZZ"), 404, "NOT_FOUND")
    garbage = assert_error(sf.get("sobjects/Lead/garbage"), 404, "NOT_FOUND")
    assert garbage["message"] == (
        "Provided external ID field does not exist or is not accessible: garbage"
    )
    assert_error(sf.get(f"sobjects/Lead/{contact_id}"), 400, "MALFORMED_ID")
    assert sf.delete(f"sobjects/Lead/{record_id}").status_code == 204
    error = assert_error(sf.get(f"sobjects/Lead/{record_id}"), 404, "ENTITY_IS_DELETED")
    assert error == {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}


# -- update and delete -------------------------------------------------------------------------


def test_patch_updates_and_answers_204(sf: ApiClient, org: Org) -> None:
    org.clock.freeze(T0)
    record_id = create(sf)
    org.clock.advance(120)
    response = sf.patch(f"sobjects/Lead/{record_id}/", json={"Title": "Countess", "Id": record_id})
    assert response.status_code == 204 and response.content == b""
    body = sf.get(f"sobjects/Lead/{record_id}").json()
    assert body["Title"] == "Countess"
    assert body["SystemModstamp"] == format_datetime_json(T0 + 120)
    assert body["CreatedDate"] == format_datetime_json(T0)
    assert_error(
        sf.patch(f"sobjects/Lead/{record_id}", json={"Email": "nope"}), 400, "INVALID_EMAIL_ADDRESS"
    )
    assert_error(sf.patch("sobjects/Lead/00Q5e000000ZZZZ", json={"Title": "x"}), 404, "NOT_FOUND")


def test_patch_converted_lead_is_refused(sf: ApiClient, org: Org) -> None:
    record_id = create(sf)
    with org.store.write() as conn:
        conn.execute('UPDATE "Lead" SET "IsConverted" = 1 WHERE "Id" = ?', (record_id,))
    assert_error(
        sf.patch(f"sobjects/Lead/{record_id}", json={"Title": "x"}),
        400,
        "CANNOT_UPDATE_CONVERTED_LEAD",
    )


def test_delete_twice(sf: ApiClient) -> None:
    record_id = create(sf)
    assert sf.delete(f"sobjects/Lead/{record_id}/").status_code == 204
    error = assert_error(sf.delete(f"sobjects/Lead/{record_id}"), 404, "ENTITY_IS_DELETED")
    assert error["fields"] == []
    assert_error(
        sf.patch(f"sobjects/Lead/{record_id}", json={"Title": "x"}), 404, "ENTITY_IS_DELETED"
    )


# -- external ids ------------------------------------------------------------------------------


def test_upsert_by_external_id(sf: ApiClient) -> None:
    path = "sobjects/Lead/LeadSync_Id__c/person-1"
    created = sf.patch(path, json=LEAD)
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], "success": True, "errors": [], "created": True}
    updated = sf.patch("sobjects/lead/leadsync_id__c/PERSON-1", json={"Title": "Countess"})
    assert updated.status_code == 200
    assert updated.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    old = sf.patch(f"/services/data/v45.0/{path}", json={"Title": "Lady"})
    assert old.status_code == 204
    got = sf.get(path + "/")
    assert got.status_code == 200 and got.json()["Title"] == "Lady"
    mismatch = sf.patch(path, json={"LeadSync_Id__c": "someone-else"})
    assert mismatch.status_code == 400
    same = sf.patch(path, json={"LeadSync_Id__c": "person-1", "Title": "Ada"})
    assert same.status_code == 200
    assert_error(sf.patch(path, json={"Email": "bad"}), 400, "INVALID_EMAIL_ADDRESS")


def test_external_id_values_with_slashes_and_spaces(sf: ApiClient) -> None:
    value = "a/b c"
    response = sf.patch(f"sobjects/Lead/LeadSync_Id__c/{quote(value, safe='')}", json=LEAD)
    assert response.status_code == 201
    got = sf.get(f"sobjects/Lead/LeadSync_Id__c/{quote(value, safe='')}")
    assert got.status_code == 200 and got.json()["LeadSync_Id__c"] == value


def test_external_id_multiple_matches_answer_300(sf: ApiClient, org: Org) -> None:
    twins = system_insert(
        org, "Lead", [{**LEAD, "LeadSync_Id__c": "twin"}, {**LEAD, "LeadSync_Id__c": "twin"}]
    )
    got = sf.get("sobjects/Lead/LeadSync_Id__c/twin")
    assert got.status_code == 300
    assert got.json() == [f"/services/data/v62.0/sobjects/Lead/{i}" for i in sorted(twins)]
    patched = sf.patch("sobjects/Lead/LeadSync_Id__c/twin", json={"Title": "x"})
    assert patched.status_code == 300 and len(patched.json()) == 2


def test_external_id_field_must_be_an_external_id(sf: ApiClient) -> None:
    error = assert_error(sf.get("sobjects/Lead/Email/a@b.co"), 404, "NOT_FOUND")
    assert error["message"] == (
        "Provided external ID field does not exist or is not accessible: Email"
    )
    assert_error(sf.patch("sobjects/Lead/Nope__c/1", json=LEAD), 404, "NOT_FOUND")
    assert_error(sf.get("sobjects/Lead/LeadSync_Id__c/nobody"), 404, "NOT_FOUND")


def test_update_only_and_delete_by_external_id(sf: ApiClient) -> None:
    refused = sf.patch("sobjects/Lead/LeadSync_Id__c/p-9", params={"updateOnly": "true"}, json=LEAD)
    assert_error(refused, 404, "NOT_FOUND")
    assert sf.patch("sobjects/Lead/LeadSync_Id__c/p-9", json=LEAD).status_code == 201
    assert sf.delete("sobjects/Lead/LeadSync_Id__c/p-9").status_code == 204
    assert_error(sf.get("sobjects/Lead/LeadSync_Id__c/p-9"), 404, "NOT_FOUND")


def test_post_to_id_inserts(sf: ApiClient) -> None:
    response = sf.post("sobjects/Lead/Id", json={**LEAD, "Id": None})
    assert response.status_code == 201 and response.json()["created"] is True
    record_id = response.json()["id"]
    again = sf.post("sobjects/Lead/Id/", json={"Id": record_id, "Title": "x"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert sf.post(f"sobjects/Lead/{record_id}", json=LEAD).status_code == 405


# -- updated / deleted -------------------------------------------------------------------------


def test_updated_lists_ids_in_the_window(sf: ApiClient, org: Org) -> None:
    org.clock.freeze(T0)
    early = create(sf)
    org.clock.advance(600)
    late = create(sf)
    org.clock.advance(600)
    start, end = T0 - T0 % 60, T0 + 1200
    response = sf.get(f"sobjects/Lead/updated/?start={stamp(start)}&end={stamp(end)}")
    assert response.status_code == 200
    body = response.json()
    assert body["ids"] == [early, late]
    assert body["latestDateCovered"] == format_datetime_json(end - end % 60)
    narrow = sf.get(f"sobjects/lead/updated?start={stamp(T0 + 300)}&end={stamp(T0 + 900)}")
    assert narrow.json()["ids"] == [late]
    # The end is capped at the current minute; seconds are ignored.
    future = sf.get(f"sobjects/Lead/updated/?start={stamp(start)}&end={stamp(T0 + 86400)}")
    now = T0 + 1200
    assert future.json()["latestDateCovered"] == format_datetime_json(now - now % 60)
    sf.delete(f"sobjects/Lead/{early}")
    after = sf.get(f"sobjects/Lead/updated/?start={stamp(start)}&end={stamp(end + 120)}")
    assert after.json()["ids"] == [late]


def test_updated_accepts_a_raw_plus_offset(sf: ApiClient, org: Org) -> None:
    org.clock.freeze(T0)
    record_id = create(sf)
    org.clock.advance(300)
    start = format_datetime_json(T0 - 120).replace(".000+0000", "+00:00")
    end = format_datetime_json(T0 + 240).replace(".000+0000", "+00:00")
    response = sf.get(f"sobjects/Lead/updated/?start={start}&end={end}")
    assert response.status_code == 200 and response.json()["ids"] == [record_id]


def test_replication_windows_are_checked(
    sf: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    org.clock.freeze(T0)
    create(sf)
    create(sf)
    org.clock.advance(120)
    backwards = sf.get(f"sobjects/Lead/updated/?start={stamp(T0)}&end={stamp(T0 - 600)}")
    assert_error(backwards, 400, "INVALID_REPLICATION_DATE")
    same_minute = sf.get(f"sobjects/Lead/deleted/?start={stamp(T0)}&end={stamp(T0 + 30)}")
    assert_error(same_minute, 400, "INVALID_REPLICATION_DATE")
    ancient = sf.get(f"sobjects/Lead/updated/?start={stamp(T0 - 31 * 86400)}&end={stamp(T0)}")
    assert_error(ancient, 400, "INVALID_REPLICATION_DATE")
    assert_error(
        sf.get("sobjects/Lead/updated/?start=yesterday&end=today"), 400, "INVALID_REPLICATION_DATE"
    )
    assert sf.get("sobjects/Lead/updated/").status_code == 400
    monkeypatch.setattr(sobjects, "UPDATED_ID_LIMIT", 1)
    too_many = sf.get(f"sobjects/Lead/updated/?start={stamp(T0 - 60)}&end={stamp(T0 + 120)}")
    assert_error(too_many, 400, "EXCEEDED_ID_LIMIT")


def test_deleted_lists_deletions_with_dates(sf: ApiClient, org: Org) -> None:
    org.clock.freeze(T0)
    kept = create(sf)
    gone = create(sf)
    org.clock.advance(300)
    assert sf.delete(f"sobjects/Lead/{gone}").status_code == 204
    org.clock.advance(300)
    response = sf.get(f"sobjects/Lead/deleted/?start={stamp(T0 - 60)}&end={stamp(T0 + 600)}")
    assert response.status_code == 200
    body = response.json()
    assert body["deletedRecords"] == [{"id": gone, "deletedDate": format_datetime_json(T0 + 300)}]
    assert kept not in str(body)
    now = T0 + 600
    assert body["latestDateCovered"] == format_datetime_json(now - now % 60)
    earliest = now - now % 60 - 15 * 86400
    assert body["earliestDateAvailable"] == format_datetime_json(earliest)
    old = sf.get(f"sobjects/Lead/deleted/?start={stamp(T0 - 20 * 86400)}&end={stamp(T0)}")
    assert old.status_code == 200 and old.json()["deletedRecords"] == []


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "POST", "HEAD"])
@pytest.mark.parametrize(
    "path",
    [
        "sobjects/Lead/%00",
        "sobjects/Lead/' OR 1=1 --",
        "sobjects/Lead/" + "0" * 300,
        "sobjects/Lead/00Q5e0000000001EA%21",
        "sobjects/Lead/Id/not-an-id",
        "sobjects/Lead/LeadSync_Id__c/%FF%FE",
        "sobjects/Lead/LeadSync_Id__c/a/b/c",
        "sobjects/Lead/updated/?start=2026-13-45T99:99:99Z&end=%00",
        "sobjects/Lead/deleted/?start=&end=",
        "sobjects/Nope/Id",
        "sobjects/Lead/005000000000000AAA",
    ],
)
def test_odd_paths_never_answer_500(sf: ApiClient, path: str, method: str) -> None:
    response = sf.request(method, path, json=LEAD if method in ("PATCH", "POST") else None)
    assert 200 <= response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400 and method != "HEAD":
        assert isinstance(response.json(), list)


def test_head_reads_like_get(sf: ApiClient) -> None:
    record_id = create(sf)
    assert sf.request("HEAD", f"sobjects/Lead/{record_id}").status_code == 200


def test_upsert_and_get_through_the_id_field(sf: ApiClient) -> None:
    record_id = create(sf)
    response = sf.patch(f"sobjects/Lead/Id/{record_id}", json={"Title": "Countess"})
    assert response.status_code == 200 and response.json()["created"] is False
    got = sf.get(f"sobjects/Lead/Id/{record_id}")
    assert got.status_code == 200 and got.json()["Title"] == "Countess"
    assert_error(
        sf.delete(f"sobjects/User/{sf.get('sobjects/Lead/Id/' + record_id).json()['OwnerId']}"),
        400,
        "INSUFFICIENT_ACCESS_OR_READONLY",
    )
