"""Property tests: whatever text arrives as `q`, /query answers 200 or a Salesforce 400
envelope, never a 500 or a traceback."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.emulator.api.query import first_page
from leadsync.emulator.app import ApiContext
from leadsync.emulator.dml import system_insert
from leadsync.emulator.errors import QueryError
from leadsync.emulator.org import Org
from tests.conftest import ApiClient

QUERY_ERRORS = {
    "MALFORMED_QUERY",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "INVALID_QUERY_FILTER_OPERATOR",
    "NUMBER_OUTSIDE_VALID_RANGE",
}

KEYWORDS = [
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "LIKE",
    "IN",
    "INCLUDES",
    "EXCLUDES",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "FOR",
    "UPDATE",
    "ALL",
    "ROWS",
    "COUNT",
    "MAX",
    "SUM",
    "TYPEOF",
    "null",
    "true",
    "false",
    "TODAY",
    "LAST_N_DAYS",
    "THIS_MONTH",
]
IDENTIFIERS = [
    "Id",
    "Email",
    "Name",
    "Lead",
    "Contact",
    "Account",
    "Owner",
    "Owner.Name",
    "Account.Owner.Email",
    "Address",
    "SystemModstamp",
    "CreatedDate",
    "IsDeleted",
    "Internal_Notes__c",
    "NumberOfEmployees",
    "DoNotCall",
    "Who.Name",
    "Task",
    "Group",
    "Foo",
    "Foo__c",
    "LastActivityDate",
    "Description",
]
LITERALS = [
    "'x'",
    "'O\\'Brien'",
    "'\\\\'",
    "'%'",
    "'unterminated",
    "1",
    "-2.5",
    "2000",
    "2024-05-01",
    "2024-05-01T12:34:56Z",
    "2024-05-01T12:34:56.000000Z",
    "2024-05-01T12:34:56.000+00:00",
    "2024-13-45T99:99:99Z",
    ":30",
    "'00Q5e0000000001EAA'",
    "'00Q5e0000000001'",
    "99999999999999999999999",
]
PUNCTUATION = ["(", ")", ",", ".", "=", "!=", "<>", "<", "<=", ">", ">=", ":", ";", "'", "\\"]

tokens = st.sampled_from(KEYWORDS + IDENTIFIERS + LITERALS + PUNCTUATION)
soups = st.lists(tokens, max_size=30).map(" ".join)
prefixed = st.tuples(
    st.sampled_from(
        [
            "SELECT Id FROM Lead WHERE ",
            "SELECT Id, ",
            "SELECT COUNT() FROM ",
            "SELECT Email FROM Lead ORDER BY ",
            "SELECT Id FROM Lead GROUP BY ",
        ]
    ),
    soups,
).map("".join)
garbage = st.one_of(st.text(max_size=200), soups, prefixed)

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check(sf: ApiClient, resource: str, soql: str) -> None:
    response = sf.get(resource, params={"q": soql})
    assert response.status_code in (200, 400), (soql, response.status_code, response.text)
    body = response.json()
    if response.status_code == 200:
        assert isinstance(body["totalSize"], int) and isinstance(body["records"], list)
        return
    assert isinstance(body, list) and len(body) == 1, body
    assert body[0]["errorCode"] in QUERY_ERRORS, (soql, body)
    assert isinstance(body[0]["message"], str)


@FUZZ
@given(soql=garbage)
def test_query_never_fails_with_a_server_error(org: Org, sf: ApiClient, soql: str) -> None:
    if not org.store.reader().execute('SELECT COUNT(*) FROM "Lead"').fetchone()[0]:
        system_insert(org, "Lead", [{"LastName": "Fuzz", "Company": "C", "Email": "f@x.org"}])
    _check(sf, "query", soql)


@FUZZ
@given(soql=prefixed)
def test_query_all_never_fails_with_a_server_error(sf: ApiClient, soql: str) -> None:
    _check(sf, "queryAll", soql)


def test_hostile_shapes(sf: ApiClient) -> None:
    hostile = [
        "SELECT Id FROM Lead WHERE " + "(" * 5000 + "Id = null" + ")" * 5000,
        "SELECT Id FROM Lead WHERE " + "NOT " * 5000 + "Id = null",
        "SELECT Id FROM Lead WHERE " + " AND ".join(["Email = 'x'"] * 1500),
        "SELECT Id FROM Lead LIMIT 99999999999999999999999999",
        "SELECT Id FROM Lead WHERE CreatedDate = LAST_N_YEARS:999999999",
        "SELECT Id FROM Lead WHERE NumberOfEmployees > 1" + "0" * 400,
        "SELECT Id FROM Lead WHERE Name = '\x00\ud7ff'",
    ]
    for soql in hostile:
        _check(sf, "query", soql)


def test_statements_too_big_for_a_url_fail_cleanly(org: Org, sf: ApiClient) -> None:
    # Longer than httpx allows in a URL, so run the handler's work in-process.
    session = org.sessions.validate(sf.token)
    ctx = ApiContext(org, session, "62.0")
    body = first_page(
        ctx,
        "SELECT Id FROM Lead WHERE NumberOfEmployees IN (" + ",".join(["1"] * 40_000) + ")",
        False,
        2000,
    )
    assert body["totalSize"] == 0
    for soql in (
        "SELECT Id FROM Lead WHERE " + " OR ".join(["Email = 'x'"] * 4000),
        "SELECT " + "x" * 100_001 + " FROM Lead",
    ):
        with pytest.raises(QueryError) as caught:
            first_page(ctx, soql, False, 2000)
        assert caught.value.code == "MALFORMED_QUERY"
        assert caught.value.status == 400
