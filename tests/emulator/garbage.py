"""Garbage for the bad-input sweep (`test_bad_input_sweep.py`): hypothesis strategies for
methods, path segments, query strings, headers and bodies of every API family, and the check
every answer to them must pass."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import strategies as st
from starlette.routing import Route
from starlette.testclient import TestClient

from leadsync.emulator.api import all_routes

# The paths the SOAP endpoints serve (others, like `/services/Soap/x`, are plain 404s).
_SOAP_PATH = re.compile(r"^/services/Soap/[uc]/[^/]+")
PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


class LoggedErrors(logging.Handler):
    """Collects error records (with their tracebacks) the emulator logs while serving."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> str:
        text = "\n".join(self.format(r) for r in self.records)
        self.records.clear()
        return text


# -- the invariant -----------------------------------------------------------------------------


def check(response: httpx.Response, logged: LoggedErrors, what: str) -> None:
    """The emulator's promise for one answer to one bad request."""
    path = response.request.url.path
    status = response.status_code
    traceback = logged.take()
    assert not traceback, f"{what} -> {status}, logged:\n{traceback}"
    if _SOAP_PATH.match(path):
        _check_soap(response, what)
        return
    assert status < 500, f"{what} -> {status} {response.text[:300]}"
    if response.request.method == "HEAD" or status < 400:
        return
    if path.startswith("/services/data"):
        body = _json(response, what)
        assert isinstance(body, list) and body, f"{what} -> {status} {response.text[:300]}"
        for error in body:
            assert isinstance(error, dict), f"{what} -> {response.text[:300]}"
            assert isinstance(error.get("errorCode"), str), f"{what} -> {response.text[:300]}"
            assert isinstance(error.get("message"), str), f"{what} -> {response.text[:300]}"
    elif path.rstrip("/") == "/services/oauth2/token" and response.request.method in STANDARD:
        # (OPTIONS or a made-up method stops at the web tier, on the platform too.)
        body = _json(response, what)
        assert isinstance(body, dict) and {"error", "error_description"} <= set(body), what


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        pytest.fail(f"{what} -> {response.status_code}, not JSON: {response.text[:300]!r}")


def _check_soap(response: httpx.Response, what: str) -> None:
    if response.request.method != "POST":
        return
    document = fromstring(response.content)
    if response.status_code >= 500:
        assert response.status_code == 500, what
        text = response.text
        assert "Fault" in text and "faultcode" in text, f"{what} -> {text[:300]}"
        assert "UNKNOWN_EXCEPTION" not in text, f"{what} -> {text[:300]}"
    assert document is not None


# -- strategies --------------------------------------------------------------------------------

STANDARD = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
TEXT = st.characters(blacklist_categories=("Cs",))
METHODS = st.one_of(
    st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]),
    st.from_regex(r"\A[A-Z]{1,10}\Z"),
)
_RAW_SEGMENTS = [
    "..",
    "%2e%2e",
    ".",
    "%00",
    "%ff%fe",
    "%ED%A0%80",
    "%F0%9F%98%80",
    "'%20OR%201=1--",
    "1;DROP%20TABLE%20Lead",
    "%22%3B--",
    "%25",
    "%2F",
    "a%2Fb",
    "null",
    "true",
    "-1",
    "0",
    "9" * 40,
    "x" * 3000,
    "Id",
    "id",
    "LeadSync_Id__c",
    "Email",
    "Name",
    "Internal_Notes__c",
    "Lead",
    "lead",
    "Contact",
    "Account",
    "User",
    "Product_Interest__c",
    "Nope__c",
    "describe",
    "updated",
    "deleted",
    "00Q000000000000AAA",
    "00Q000000000000",
    "001000000000000AAA",
    "750000000000000AAA",
    "7500000000000000",
    "zzzzzzzzzzzzzzzzzz",
]


def segments(known: dict[str, str]) -> st.SearchStrategy[str]:
    ids = [known["lead"], known["lead"][:15], known["account"], known["account"][:15]]
    ids += [known["user"], known["ingest"], known["query"], known["lead"].lower()]
    return st.one_of(
        st.sampled_from(_RAW_SEGMENTS + ids),
        st.text(TEXT, min_size=1, max_size=30).map(lambda s: quote(s, safe="")),
        st.text(st.sampled_from("0123456789abcdefABCDEF"), min_size=15, max_size=18),
    )


def _nested(depth: int) -> Any:
    """A list `depth` levels deep: deeper than some parsers and serialisers go."""
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


DEEP = st.integers(min_value=100, max_value=700).map(_nested)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(TEXT, max_size=40),
    st.sampled_from(["", " ", "x" * 70_000, "\x00", "9" * 400, "1e400", "NaN", "2024-13-45"]),
    st.sampled_from([10**30, -(2**63) - 1, 1e300, -1e300, 5e-324, 253402300800000]),
    DEEP,
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(TEXT, max_size=12), inner, max_size=5),
    ),
    max_leaves=20,
)

# Every field of Lead (system, compound, hidden, read-only), plus names a client might send.
LEAD_FIELDS = [
    "Id",
    "IsDeleted",
    "MasterRecordId",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
    "Salutation",
    "FirstName",
    "LastName",
    "Name",
    "Title",
    "Company",
    "Street",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Latitude",
    "Longitude",
    "GeocodeAccuracy",
    "Address",
    "Phone",
    "MobilePhone",
    "Email",
    "Website",
    "Description",
    "LeadSource",
    "Status",
    "Industry",
    "Rating",
    "AnnualRevenue",
    "NumberOfEmployees",
    "OwnerId",
    "HasOptedOutOfEmail",
    "DoNotCall",
    "IsConverted",
    "ConvertedDate",
    "ConvertedAccountId",
    "ConvertedContactId",
    "ConvertedOpportunityId",
    "IsUnreadByOwner",
    "LastActivityDate",
    "LeadSync_Id__c",
    "Internal_Notes__c",
    "Lead_Score__c",
    "Preferred_Language__c",
    "attributes",
    "Owner",
    "owner.username",
    "lastname",
    "nope__c",
    "",
]
# One to three fields of junk, over a record that is otherwise valid half the time, so the junk
# gets past required-field checks to conversion and storage.
FIELD_VALUES = st.one_of(_SCALARS, JSON_VALUES)
_JUNK_FIELDS = st.dictionaries(st.sampled_from(LEAD_FIELDS), FIELD_VALUES, min_size=1, max_size=3)
LEADS = st.tuples(st.booleans(), _JUNK_FIELDS).map(
    lambda pair: {"LastName": "Sweep", "Company": "Acme", **pair[1]} if pair[0] else pair[1]
)


def dump(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False).encode()


_RAW_BODIES = [
    b"",
    b" ",
    b"\xff\xfe\xfd",
    b"\xc3\x28",
    b'{"a":',
    b"[" * 3000 + b"]" * 3000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b"NaN",
    b'"\\ud800"',
    b'{"LastName":"\\udc00x","Company":"c"}',
    b"1" * 400,
    b"<x/>",
    b"\x00" * 64,
]
BODIES = st.one_of(
    st.sampled_from(_RAW_BODIES),
    JSON_VALUES.map(dump),
    LEADS.map(dump),
    st.binary(max_size=60),
)
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=60,
).map(lambda s: s.encode("latin-1"))


def headers(token: str) -> st.SearchStrategy[dict[str, Any]]:
    authorization = st.one_of(
        st.just(f"Bearer {token}"),
        st.just(f"OAuth {token}"),
        st.sampled_from(["", "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", f"Bearer {token}x"]),
        HEADER_TEXT,
    )
    optional = st.fixed_dictionaries(
        {},
        optional={
            "Sforce-Query-Options": st.one_of(
                st.sampled_from(["batchSize=", "batchSize=-5", "batchSize=99999999999999"]),
                HEADER_TEXT,
            ),
            "Content-Type": st.one_of(
                st.sampled_from(
                    [
                        "application/json",
                        "text/csv",
                        "text/xml",
                        "application/x-www-form-urlencoded",
                        "multipart/form-data; boundary=x",
                        "multipart/form-data",
                        "application/json; charset=latin-9",
                    ]
                ),
                HEADER_TEXT,
            ),
            "If-Modified-Since": HEADER_TEXT,
            "Accept": HEADER_TEXT,
            "Sforce-Auto-Assign": HEADER_TEXT,
            "Content-Encoding": st.sampled_from(["gzip", "deflate", "br"]),
        },
    )
    # The valid session is the common case: bad ones only reach the gate.
    return st.tuples(
        st.one_of(st.just(f"Bearer {token}"), st.just(f"Bearer {token}"), authorization),
        optional,
    ).map(lambda pair: {"Authorization": pair[0], **pair[1]})


_QUERY_KEYS = [
    "q",
    "fields",
    "start",
    "end",
    "ids",
    "allOrNone",
    "updateOnly",
    "locator",
    "maxRecords",
    "token",
    "grant_type",
    "response_type",
    "client_id",
    "redirect_uri",
    "x",
]
_QUERY_VALUES = st.one_of(
    st.text(TEXT, max_size=40),
    st.sampled_from(
        [
            "SELECT Id FROM Lead",
            "SELECT Id, Name, (SELECT Id FROM Tasks) FROM Lead",
            "SELECT COUNT() FROM Lead",
            "Id,Name,Internal_Notes__c,Owner.Name",
            "2024-01-01T00:00:00Z",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "-1",
            "0",
            "99999999999999999999999",
            "true",
        ]
    ),
)
QUERY = st.dictionaries(st.sampled_from(_QUERY_KEYS), _QUERY_VALUES, max_size=4)


def send(
    http: TestClient, method: str, url: str, body: bytes, header: dict[str, Any], query: Any
) -> httpx.Response:
    # `params` would replace a query already in `url`; only pass it when there is one.
    extra = {"params": query} if query else {}
    return http.request(method, url, content=body, headers=header, **extra)


def route_paths() -> list[str]:
    """Every route the app serves, as a template with its `{param}`s."""
    return [r.path for r in all_routes() if isinstance(r, Route)]


def fill(template: str, values: list[str]) -> str:
    found = iter(values)
    filled = PARAM.sub(lambda m: "62.0" if m.group(1) == "version" else next(found), template)
    return filled


_SOQL_WORDS = st.sampled_from(
    [
        "SELECT",
        "Id",
        "Name",
        "FROM",
        "Lead",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "=",
        "!=",
        "<",
        "(",
        ")",
        ",",
        "'a'",
        "'\\u00e9'",
        "'\\ud83d\\ude00'",
        "'\\ud800'",
        "null",
        "TODAY",
        "LAST_N_DAYS:99999999",
        "2024-01-01T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
        "99999999999999999999",
        "1e400",
        "-0.0",
        "LIMIT",
        "OFFSET",
        "ORDER BY",
        "GROUP BY",
        "COUNT()",
        "COUNT(Id)",
        "Owner.Name",
        "(SELECT Id FROM Tasks)",
        "NumberOfEmployees",
        "CreatedDate",
        "DAY_ONLY(CreatedDate)",
        "CALENDAR_YEAR(CreatedDate)",
        "Internal_Notes__c",
        "FIELDS(ALL)",
        "TYPEOF",
        "USING SCOPE",
        "FOR UPDATE",
        "%",
        "\\",
        "'",
    ]
)
SOQL = st.one_of(
    st.lists(_SOQL_WORDS, max_size=14).map(" ".join),
    st.lists(_SOQL_WORDS, max_size=10).map(lambda words: "SELECT Id FROM Lead " + " ".join(words)),
    st.text(TEXT, max_size=60),
)


_SUB_URLS = st.one_of(
    st.sampled_from(
        [
            "/services/data/v62.0/sobjects/Lead",
            "/services/data/v62.0/sobjects/Lead/@{ref.id}",
            "/services/data/v62.0/sobjects/Lead/@{nope.id}",
            "/services/data/v62.0/query?q=SELECT+Id+FROM+Lead",
            "/services/data/v62.0/composite",
            "/services/data/v62.0/jobs/ingest",
            "/services/data/v62.0/nope",
            "v62.0/limits",
            "/services/data/v12.0/limits",
            "/services/data/v62.0/sobjects/Lead/LeadSync_Id__c/%00",
        ]
    ),
    st.text(TEXT, max_size=40),
    JSON_VALUES,
)
_SUB_BODIES = st.one_of(LEADS, JSON_VALUES, DEEP)
_SUB = st.one_of(
    # Well-formed sub-requests carrying junk bodies, which then reach the sub-request dispatch.
    st.fixed_dictionaries(
        {
            "method": st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
            "url": _SUB_URLS,
            "referenceId": st.sampled_from(["ref", "ref2"]),
        },
        optional={"body": _SUB_BODIES, "richInput": _SUB_BODIES},
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "method": st.one_of(
                st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]), JSON_VALUES
            ),
            "url": _SUB_URLS,
            "referenceId": st.one_of(st.sampled_from(["ref", "ref2", "1", "_x"]), JSON_VALUES),
            "body": _SUB_BODIES,
            "richInput": _SUB_BODIES,
        },
    ),
)
_COLLECTION_RECORD = st.one_of(
    LEADS.map(lambda r: {**r, "attributes": {"type": "Lead"}}),
    LEADS,
    JSON_VALUES,
)
_COMPOSITE = st.fixed_dictionaries(
    {"compositeRequest": st.one_of(st.lists(_SUB, max_size=4), JSON_VALUES)},
    optional={"allOrNone": JSON_VALUES},
)
_BATCH = st.fixed_dictionaries(
    {"batchRequests": st.one_of(st.lists(_SUB, max_size=4), JSON_VALUES)},
    optional={"haltOnError": JSON_VALUES},
)
_COLLECTION = st.fixed_dictionaries(
    {"records": st.one_of(st.lists(_COLLECTION_RECORD, max_size=4), JSON_VALUES)},
    optional={"allOrNone": JSON_VALUES},
)
_RETRIEVE = st.fixed_dictionaries({}, optional={"ids": JSON_VALUES, "fields": JSON_VALUES})
# (method, path under the version root, body): mostly the shape each resource expects.
COMPOSITE_CALLS = st.one_of(
    st.tuples(st.just("POST"), st.just("composite"), _COMPOSITE),
    st.tuples(st.just("POST"), st.just("composite/batch"), _BATCH),
    st.tuples(st.sampled_from(["POST", "PATCH"]), st.just("composite/sobjects"), _COLLECTION),
    st.tuples(
        st.just("PATCH"),
        st.sampled_from(
            [
                "composite/sobjects/Lead/LeadSync_Id__c",
                "composite/sobjects/Lead/Id",
                "composite/sobjects/Lead/Email",
                "composite/sobjects/Nope/Id",
            ]
        ),
        _COLLECTION,
    ),
    st.tuples(
        st.sampled_from(["GET", "POST"]),
        st.sampled_from(["composite/sobjects/Lead", "composite/sobjects/Nope"]),
        _RETRIEVE,
    ),
    st.tuples(
        st.sampled_from(["POST", "PATCH", "DELETE", "GET"]),
        st.sampled_from(["composite", "composite/batch", "composite/sobjects"]),
        st.one_of(_COMPOSITE, _BATCH, _COLLECTION, _RETRIEVE, JSON_VALUES),
    ),
)


_CSV_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            '"',
            '""',
            '"a""b"',
            "#N/A",
            "99999999999999999999",
            "1e400",
            "9999-12-31T23:59:59-14:00",
            "true",
            "x" * 300,
            "\r",
        ]
    ),
    st.text(TEXT, max_size=20),
)
_CSV_HEADER = st.lists(
    st.one_of(st.sampled_from([*LEAD_FIELDS[1:], "Owner.Username", "LastName"]), _CSV_CELLS),
    min_size=1,
    max_size=5,
)
CSV_BODIES = st.one_of(
    st.tuples(_CSV_HEADER, st.lists(st.lists(_CSV_CELLS, max_size=6), max_size=4)).map(
        lambda parts: "\n".join(",".join(row) for row in [parts[0], *parts[1]]).encode()
    ),
    st.binary(max_size=80),
    st.sampled_from([b"", b"LastName\n\xff\xfe\n", b"\xef\xbb\xbfLastName,Company\nA,B\n"]),
)
JOB_BODIES = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "object": st.one_of(st.sampled_from(["Lead", "Nope", "lead"]), JSON_VALUES),
            "operation": st.one_of(
                st.sampled_from(["insert", "update", "upsert", "delete", "hardDelete", "query"]),
                JSON_VALUES,
            ),
            "externalIdFieldName": st.one_of(
                st.sampled_from(["LeadSync_Id__c", "Id"]), JSON_VALUES
            ),
            "columnDelimiter": st.one_of(st.sampled_from(["COMMA", "TAB", "PIPE"]), JSON_VALUES),
            "lineEnding": st.one_of(st.sampled_from(["LF", "CRLF"]), JSON_VALUES),
            "contentType": st.one_of(st.just("CSV"), JSON_VALUES),
            "query": st.one_of(SOQL, JSON_VALUES),
            "state": st.one_of(st.sampled_from(["UploadComplete", "Aborted", "Open"]), JSON_VALUES),
        },
    ),
    JSON_VALUES,
)


FAKE_IDS = dict.fromkeys(("lead", "account", "user", "ingest", "query"), "00Q000000000000AAA")
FORMS = st.dictionaries(
    st.sampled_from(
        [
            "grant_type",
            "client_id",
            "client_secret",
            "username",
            "password",
            "refresh_token",
            "assertion",
            "code",
            "redirect_uri",
            "response_type",
            "token",
            "state",
        ]
    ),
    st.one_of(
        st.sampled_from(
            [
                "password",
                "refresh_token",
                "client_credentials",
                "authorization_code",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "sync@example.com",
                "leadsync",
                "code",
                "http://localhost/cb",
                "a.b.c",
                "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
            ]
        ),
        st.text(TEXT, max_size=30),
    ),
    max_size=6,
)


XML_SNIPPETS = st.sampled_from(
    [
        "<login><username>sync@example.com</username><password>password</password></login>",
        "<login><username>{junk}</username></login>",
        "<logout/>",
        "<getUserInfo/>",
        "<convertLead><leadConverts><leadId>{junk}</leadId>"
        "<convertedStatus>{junk}</convertedStatus></leadConverts></convertLead>",
        "<convertLead><leadConverts>{junk}</leadConverts></convertLead>",
        "<merge><request><masterRecord><type>Lead</type><Id>{junk}</Id></masterRecord>"
        "<recordToMergeIds>{junk}</recordToMergeIds></request></merge>",
        "<merge><request>{junk}</request></merge>",
        "<nope/>",
        "{junk}",
    ]
)


def soap_envelope(operation: str, session: str | None) -> bytes:
    header = (
        f"<env:Header><SessionHeader><sessionId>{session}</sessionId></SessionHeader></env:Header>"
        if session
        else ""
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com">'
        f"{header}<env:Body>{operation}</env:Body></env:Envelope>"
    ).encode()


# Numbers at the edges: admin knobs take them as seconds and counts.
NUMBERS = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e300, -1e300, 10**30, 2**63, 2**53 + 1, -1, 0, 86400, 253402300800]),
)
ADMIN_BODIES = st.one_of(
    BODIES,
    st.fixed_dictionaries(
        {},
        optional={
            "freeze": JSON_VALUES,
            "advance": st.one_of(NUMBERS, JSON_VALUES),
            "set": st.one_of(NUMBERS, JSON_VALUES),
            "used": st.one_of(NUMBERS, JSON_VALUES),
            "max": st.one_of(NUMBERS, JSON_VALUES),
            "kind": st.one_of(
                st.sampled_from(["unavailable", "lock", "limit", "slow", "drop"]), JSON_VALUES
            ),
            "path": JSON_VALUES,
            "method": JSON_VALUES,
            "count": st.one_of(NUMBERS, JSON_VALUES),
            "delay": st.one_of(NUMBERS, JSON_VALUES),
        },
    ).map(dump),
)


# Bodies with one value (`@`) replaced by deeply nested JSON: every JSON-taking resource, with
# the deep value where that resource's code walks, re-serialises or echoes it.
DEEP_TEMPLATES = [
    (
        "POST",
        "composite",
        b'{"compositeRequest":[{"method":"POST","url":"/services/data/v62.0/sobjects/Lead",'
        b'"referenceId":"r","body":{"LastName":@}}]}',
    ),
    (
        "POST",
        "composite",
        b'{"allOrNone":true,"compositeRequest":[{"method":"PATCH","referenceId":"r",'
        b'"url":"/services/data/v62.0/sobjects/Lead/LeadSync_Id__c/k","body":@}]}',
    ),
    (
        "POST",
        "composite/batch",
        b'{"batchRequests":[{"method":"POST","url":"v62.0/sobjects/Lead","richInput":@}]}',
    ),
    ("POST", "composite/sobjects", b'{"records":[{"attributes":{"type":"Lead"},"LastName":@}]}'),
    (
        "PATCH",
        "composite/sobjects/Lead/LeadSync_Id__c",
        b'{"records":[{"attributes":{"type":"Lead"},"LeadSync_Id__c":@}]}',
    ),
    ("POST", "composite/sobjects/Lead", b'{"ids":@,"fields":["Id"]}'),
    ("POST", "sobjects/Lead", b'{"LastName":@,"Company":"c"}'),
    ("PATCH", "sobjects/Lead/LeadSync_Id__c/k", b'{"LastName":"x","Company":@}'),
    ("POST", "jobs/ingest", b'{"object":@,"operation":"insert"}'),
    ("POST", "jobs/query", b'{"operation":"query","query":@}'),
    ("POST", "/_emulator/faults", b'[{"kind":"lock","path":@}]'),
    ("POST", "/_emulator/clock", b'{"advance":@}'),
]


def deep_json(depth: int, in_objects: bool) -> bytes:
    """`depth` levels of arrays or objects, built as text (the encoder would recurse)."""
    if in_objects:
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth + b'"x"' + b"]" * depth
