"""Adversarial sweep: garbage into every route must never give a 500 or a traceback.

Each test drives one route family with generated junk (methods, path parameters, query
strings, headers, bodies) as the logged-in sync user and checks the emulator's promise: no
500 and no logged exception; on `/services/data` every 4xx answers in the REST envelope (a
JSON list of `{"errorCode", "message", ...}`); OAuth answers `{"error", "error_description"}`;
SOAP always answers XML, a fault never being UNKNOWN_EXCEPTION.

The targeted tests at the end pin the bugs the sweep found.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route
from starlette.testclient import TestClient

from leadsync.emulator.api import all_routes
from leadsync.emulator.app import create_app
from leadsync.emulator.org import Org

from ..conftest import ApiClient, login

SWEEP = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
API = "/services/data/v62.0"
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


# -- fixtures ----------------------------------------------------------------------------------


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


@pytest.fixture
def logged() -> Iterator[LoggedErrors]:
    handler = LoggedErrors()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger = logging.getLogger("leadsync")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def api(org: Org, client: TestClient) -> ApiClient:
    return ApiClient(client, login(org, "sync@example.com"))


@pytest.fixture
def known(api: ApiClient) -> dict[str, str]:
    """Real ids of several objects, so garbage also reaches the deep paths."""
    lead = api.post("sobjects/Lead", json={"LastName": "Sweep", "Company": "Acme"})
    account = api.post("sobjects/Account", json={"Name": "Sweep"})
    assert lead.status_code == 201 and account.status_code == 201
    job = api.post("jobs/ingest", json={"object": "Lead", "operation": "insert"})
    query_job = api.post("jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"})
    assert job.status_code == 200 and query_job.status_code == 200
    user = api.get("query", params={"q": "SELECT Id FROM User LIMIT 1"}).json()
    return {
        "lead": lead.json()["id"],
        "account": account.json()["id"],
        "user": user["records"][0]["Id"],
        "ingest": job.json()["id"],
        "query": query_job.json()["id"],
    }


# -- the invariant -----------------------------------------------------------------------------


def check(response: httpx.Response, logged: LoggedErrors, what: str) -> None:
    """The emulator's promise for one answer to one bad request."""
    path = response.request.url.path
    status = response.status_code
    traceback = logged.take()
    assert not traceback, f"{what} -> {status}, logged:\n{traceback}"
    if path.startswith("/services/Soap/"):
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
    elif path.rstrip("/") == "/services/oauth2/token" and response.request.method in _STANDARD:
        # (A made-up method never reaches the OAuth service, on the platform either.)
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

_STANDARD = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_TEXT = st.characters(blacklist_categories=("Cs",))
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
        st.text(_TEXT, min_size=1, max_size=30).map(lambda s: quote(s, safe="")),
        st.text(st.sampled_from("0123456789abcdefABCDEF"), min_size=15, max_size=18),
    )


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(_TEXT, max_size=40),
    st.sampled_from(["", " ", "x" * 70_000, "\x00", "9" * 400, "1e400", "NaN", "2024-13-45"]),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(_TEXT, max_size=12), inner, max_size=5),
    ),
    max_leaves=20,
)

LEAD_FIELDS = [
    "attributes",
    "Id",
    "LastName",
    "FirstName",
    "Company",
    "Email",
    "Status",
    "Salutation",
    "Phone",
    "Website",
    "Street",
    "Address",
    "Latitude",
    "AnnualRevenue",
    "NumberOfEmployees",
    "OwnerId",
    "HasOptedOutOfEmail",
    "IsConverted",
    "ConvertedDate",
    "CreatedDate",
    "LastActivityDate",
    "LeadSync_Id__c",
    "Internal_Notes__c",
    "Lead_Score__c",
    "Preferred_Language__c",
    "Name",
    "IsDeleted",
    "MasterRecordId",
    "Owner",
    "nope__c",
]
LEADS = st.dictionaries(st.sampled_from(LEAD_FIELDS), JSON_VALUES, max_size=8)


def _dump(value: Any) -> bytes:
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
    JSON_VALUES.map(_dump),
    LEADS.map(_dump),
    st.binary(max_size=60),
)
_HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=60,
).map(lambda s: s.encode("latin-1"))


def headers(token: str) -> st.SearchStrategy[dict[str, Any]]:
    authorization = st.one_of(
        st.just(f"Bearer {token}"),
        st.just(f"OAuth {token}"),
        st.sampled_from(["", "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", f"Bearer {token}x"]),
        _HEADER_TEXT,
    )
    optional = st.fixed_dictionaries(
        {},
        optional={
            "Sforce-Query-Options": st.one_of(
                st.sampled_from(["batchSize=", "batchSize=-5", "batchSize=99999999999999"]),
                _HEADER_TEXT,
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
                _HEADER_TEXT,
            ),
            "If-Modified-Since": _HEADER_TEXT,
            "Accept": _HEADER_TEXT,
            "Sforce-Auto-Assign": _HEADER_TEXT,
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
    st.text(_TEXT, max_size=40),
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
    filled = _PARAM.sub(lambda m: "62.0" if m.group(1) == "version" else next(found), template)
    return filled


# -- the sweep, one test per route family ------------------------------------------------------


def _sweep_family(
    data: st.DataObject,
    http: TestClient,
    token: str,
    known: dict[str, str],
    logged: LoggedErrors,
    templates: list[str],
    bodies: st.SearchStrategy[bytes] = BODIES,
    methods: st.SearchStrategy[str] = METHODS,
) -> None:
    template = data.draw(st.sampled_from(templates), label="route")
    count = len(_PARAM.findall(template.replace("{version}", "")))
    values = data.draw(st.lists(segments(known), min_size=count, max_size=count), label="params")
    method = data.draw(methods, label="method")
    body = data.draw(bodies, label="body")
    header = data.draw(headers(token), label="headers")
    query = data.draw(QUERY, label="query")
    url = fill(template, values)
    response = send(http, method, url, body, header, query)
    check(response, logged, f"{method} {url[:200]} query={query!r} body={body[:200]!r}")


def _templates(*prefixes: str) -> list[str]:
    found = [p for p in route_paths() if p.startswith(prefixes)]
    assert found, prefixes
    return found


@SWEEP
@given(data=st.data())
def test_every_route_survives_garbage(
    data: st.DataObject,
    client: TestClient,
    api: ApiClient,
    known: dict[str, str],
    logged: LoggedErrors,
) -> None:
    paths = route_paths()
    # Routes nobody registered too: the REST API still answers in its envelope.
    paths += [API + "/{x}", API + "/{x}/{y}", "/services/data/{x}", "/services/data/v{x}/limits"]
    _sweep_family(data, client, api.token, known, logged, paths)


@SWEEP
@given(data=st.data())
def test_discovery_and_describe_survive_garbage(
    data: st.DataObject,
    client: TestClient,
    api: ApiClient,
    known: dict[str, str],
    logged: LoggedErrors,
) -> None:
    templates = [p for p in route_paths() if p.startswith("/services/data") and "/jobs" not in p]
    templates = [p for p in templates if "composite" not in p and "query" not in p]
    _sweep_family(data, client, api.token, known, logged, templates)


@SWEEP
@given(
    obj=st.sampled_from(["Lead", "lead", "Contact", "Account", "Product_Interest__c"]),
    target=st.sampled_from(["", "/{lead}", "/{lead15}", "/{account}", "/Id", "/LeadSync_Id__c/k"]),
    method=st.sampled_from(["POST", "PATCH", "PUT", "DELETE", "GET"]),
    record=LEADS,
    fields=st.one_of(st.none(), st.text(_TEXT, max_size=40)),
)
def test_record_writes_with_wrong_types_survive(
    obj: str,
    target: str,
    method: str,
    record: dict[str, Any],
    fields: str | None,
    api: ApiClient,
    known: dict[str, str],
    logged: LoggedErrors,
) -> None:
    suffix = target.format(lead=known["lead"], lead15=known["lead"][:15], account=known["account"])
    params = {"fields": fields} if fields is not None else None
    response = api.request(method, f"sobjects/{obj}{suffix}", json=record, params=params)
    check(response, logged, f"{method} sobjects/{obj}{suffix} {record!r:.300}")


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
    st.text(_TEXT, max_size=60),
)


@SWEEP
@given(
    resource=st.sampled_from(["query", "queryAll", "query/", "queryAll/"]),
    soql=SOQL,
    options=st.one_of(st.none(), _HEADER_TEXT, st.sampled_from(["batchSize=200"])),
    locator=st.one_of(st.none(), st.text(_TEXT, max_size=30), st.just("01gx-99999999999999")),
)
def test_query_resources_survive_garbage(
    resource: str,
    soql: str,
    options: bytes | str | None,
    locator: str | None,
    api: ApiClient,
    logged: LoggedErrors,
) -> None:
    header = {} if options is None else {"Sforce-Query-Options": options}
    path = resource if locator is None else f"{resource.rstrip('/')}/{quote(locator, safe='')}"
    response = api.get(path, params={"q": soql}, headers=header)
    check(response, logged, f"GET {path} q={soql!r} options={options!r}")


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
    st.text(_TEXT, max_size=40),
    JSON_VALUES,
)
_SUB = st.fixed_dictionaries(
    {},
    optional={
        "method": st.one_of(st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]), JSON_VALUES),
        "url": _SUB_URLS,
        "referenceId": st.one_of(st.sampled_from(["ref", "ref2", "1", "_x"]), JSON_VALUES),
        "body": st.one_of(LEADS, JSON_VALUES),
        "richInput": st.one_of(LEADS, JSON_VALUES),
    },
)
_COLLECTION_RECORD = st.one_of(
    LEADS.map(lambda r: {**r, "attributes": {"type": "Lead"}}),
    LEADS,
    JSON_VALUES,
)
COMPOSITE_BODIES = st.one_of(
    st.fixed_dictionaries(
        {"compositeRequest": st.one_of(st.lists(_SUB, max_size=4), JSON_VALUES)},
        optional={"allOrNone": JSON_VALUES},
    ),
    st.fixed_dictionaries(
        {"batchRequests": st.one_of(st.lists(_SUB, max_size=4), JSON_VALUES)},
        optional={"haltOnError": JSON_VALUES},
    ),
    st.fixed_dictionaries(
        {"records": st.one_of(st.lists(_COLLECTION_RECORD, max_size=4), JSON_VALUES)},
        optional={"allOrNone": JSON_VALUES},
    ),
    st.fixed_dictionaries({}, optional={"ids": JSON_VALUES, "fields": JSON_VALUES}),
    JSON_VALUES,
)


@SWEEP
@given(
    path=st.sampled_from(
        [
            "composite",
            "composite/batch",
            "composite/sobjects",
            "composite/sobjects/Lead",
            "composite/sobjects/Lead/LeadSync_Id__c",
            "composite/sobjects/Lead/Id",
            "composite/sobjects/Lead/Email",
            "composite/sobjects/Nope",
        ]
    ),
    method=st.sampled_from(["POST", "PATCH", "DELETE", "GET"]),
    body=COMPOSITE_BODIES,
    query=QUERY,
)
def test_composite_family_survives_garbage(
    path: str,
    method: str,
    body: Any,
    query: dict[str, str],
    api: ApiClient,
    logged: LoggedErrors,
) -> None:
    response = api.request(method, path, content=_dump(body), params=query)
    check(response, logged, f"{method} {path} {query!r} {body!r:.400}")


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
    st.text(_TEXT, max_size=20),
)
_CSV_HEADER = st.lists(
    st.one_of(st.sampled_from(LEAD_FIELDS[1:] + ["Owner.Username", "LastName"]), _CSV_CELLS),
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
            "externalIdFieldName": st.one_of(st.sampled_from(["LeadSync_Id__c", "Id"]), JSON_VALUES),
            "columnDelimiter": st.one_of(st.sampled_from(["COMMA", "TAB", "PIPE"]), JSON_VALUES),
            "lineEnding": st.one_of(st.sampled_from(["LF", "CRLF"]), JSON_VALUES),
            "contentType": st.one_of(st.just("CSV"), JSON_VALUES),
            "query": st.one_of(SOQL, JSON_VALUES),
            "state": st.one_of(st.sampled_from(["UploadComplete", "Aborted", "Open"]), JSON_VALUES),
        },
    ),
    JSON_VALUES,
)


@SWEEP
@given(
    create=JOB_BODIES,
    upload=CSV_BODIES,
    content_type=st.sampled_from(["text/csv", "application/json", "", "text/csv; charset=latin-1"]),
    state=JOB_BODIES,
    results=st.sampled_from(["successfulResults", "failedResults", "unprocessedrecords"]),
    query=QUERY,
)
def test_bulk_jobs_survive_garbage(
    create: Any,
    upload: bytes,
    content_type: str,
    state: Any,
    results: str,
    query: dict[str, str],
    api: ApiClient,
    known: dict[str, str],
    logged: LoggedErrors,
) -> None:
    for kind in ("ingest", "query"):
        made = api.post(f"jobs/{kind}", content=_dump(create))
        check(made, logged, f"POST jobs/{kind} {create!r:.300}")
        job = made.json().get("id") if made.status_code == 200 else known[kind]
        steps: list[tuple[str, str, bytes, dict[str, str]]] = [
            ("PUT", f"jobs/{kind}/{job}/batches", upload, {"Content-Type": content_type}),
            ("PATCH", f"jobs/{kind}/{job}", _dump(state), {}),
            ("GET", f"jobs/{kind}/{job}", b"", {}),
            ("GET", f"jobs/{kind}/{job}/results", b"", {}),
            ("GET", f"jobs/{kind}/{job}/{results}", b"", {}),
            ("GET", f"jobs/{kind}", b"", {}),
        ]
        for method, path, body, header in steps:
            response = api.request(method, path, content=body, headers=header, params=query)
            check(response, logged, f"{method} {path} {query!r} {body!r:.300}")


_FAKE_IDS = dict.fromkeys(("lead", "account", "user", "ingest", "query"), "00Q000000000000AAA")
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
        st.text(_TEXT, max_size=30),
    ),
    max_size=6,
)


@SWEEP
@given(
    path=st.sampled_from(
        [
            "/services/oauth2/token",
            "/services/oauth2/authorize",
            "/services/oauth2/revoke",
            "/services/oauth2/userinfo",
            "/id/{org}/{user}",
        ]
    ),
    method=st.sampled_from(["GET", "POST", "PUT"]),
    form=FORMS,
    raw=st.one_of(st.none(), BODIES),
    header=_HEADER_TEXT,
    ids=st.lists(segments(_FAKE_IDS), min_size=2, max_size=2),
)
def test_oauth_routes_survive_garbage(
    path: str,
    method: str,
    form: dict[str, str],
    raw: bytes | None,
    header: bytes,
    ids: list[str],
    client: TestClient,
    logged: LoggedErrors,
) -> None:
    url = path.format(org=ids[0], user=ids[1])
    headers_sent = {"Authorization": header}
    if raw is None:
        response = client.request(method, url, data=form, headers=headers_sent)
    else:
        response = client.request(method, url, content=raw, params=form, headers=headers_sent)
    check(response, logged, f"{method} {url} form={form!r} raw={raw!r:.200}")


_XML_SNIPPETS = st.sampled_from(
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


def _soap(operation: str, session: str | None) -> bytes:
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


@SWEEP
@given(
    api_kind=st.sampled_from(["u", "c"]),
    version=st.sampled_from(["62.0", "12.0", "abc", "62.0/00D000000000001", "%00"]),
    snippet=_XML_SNIPPETS,
    junk=st.one_of(
        st.text(_TEXT.filter(lambda c: c not in "<&"), max_size=30),
        st.sampled_from(["00Q000000000000AAA", "<a>", "</x>", "&bogus;", "]]>", "x" * 5000]),
    ),
    raw=st.one_of(
        st.none(),
        st.sampled_from(
            [
                b"",
                b"<",
                b"\xff\xfe<x/>",
                b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
                b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
                b"<a>" * 2000,
            ]
        ),
        st.binary(max_size=40),
    ),
    with_session=st.booleans(),
)
def test_soap_endpoints_survive_garbage(
    api_kind: str,
    version: str,
    snippet: str,
    junk: str,
    raw: bytes | None,
    with_session: bool,
    client: TestClient,
    api: ApiClient,
    known: dict[str, str],
    logged: LoggedErrors,
) -> None:
    operation = snippet.replace("{junk}", junk.replace("LEAD", known["lead"]))
    body = raw if raw is not None else _soap(operation, api.token if with_session else None)
    url = f"/services/Soap/{api_kind}/{version}"
    response = client.post(url, content=body, headers={"Content-Type": "text/xml"})
    check(response, logged, f"POST {url} {body[:300]!r}")


@SWEEP
@given(
    path=st.sampled_from(
        ["status", "faults", "clock", "limits", "sessions/expire", "nope", "faults/"]
    ),
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
    body=st.one_of(
        BODIES,
        st.fixed_dictionaries(
            {},
            optional={
                "freeze": JSON_VALUES,
                "advance": st.one_of(st.floats(allow_nan=False, allow_infinity=False), JSON_VALUES),
                "set": st.one_of(st.floats(allow_nan=False, allow_infinity=False), JSON_VALUES),
                "used": JSON_VALUES,
                "max": JSON_VALUES,
                "kind": st.one_of(
                    st.sampled_from(["unavailable", "lock", "limit", "slow", "drop"]), JSON_VALUES
                ),
                "path": JSON_VALUES,
                "method": JSON_VALUES,
                "count": JSON_VALUES,
                "delay": JSON_VALUES,
            },
        ).map(_dump),
    ),
)
def test_admin_routes_survive_garbage(
    path: str, method: str, body: bytes, client: TestClient, logged: LoggedErrors
) -> None:
    response = client.request(method, f"/_emulator/{path}", content=body)
    check(response, logged, f"{method} /_emulator/{path} {body[:300]!r}")
    # The org must still answer its status after whatever the garbage did to it.
    check(client.get("/_emulator/status"), logged, f"status after {method} {path} {body[:300]!r}")
