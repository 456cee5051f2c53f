"""Adversarial sweep: garbage into every route must never give a 500 or a traceback.

Each test drives one route family with generated junk (`garbage.py`: methods, path
parameters, query strings, headers, bodies) as the logged-in sync user and checks the
emulator's promise: no 500 and no logged exception; on `/services/data` every 4xx answers in
the REST envelope (a JSON list of `{"errorCode", "message", ...}`); OAuth answers
`{"error", "error_description"}`; SOAP always answers XML, a fault never UNKNOWN_EXCEPTION.

The targeted tests at the end pin the bugs the sweep found.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from leadsync.emulator.app import create_app
from leadsync.emulator.org import Org

from ..conftest import ApiClient, login
from .garbage import (
    ADMIN_BODIES,
    BODIES,
    COMPOSITE_CALLS,
    CSV_BODIES,
    DEEP_TEMPLATES,
    FAKE_IDS,
    FIELD_VALUES,
    FORMS,
    HEADER_TEXT,
    JOB_BODIES,
    LEAD_FIELDS,
    LEADS,
    METHODS,
    PARAM,
    QUERY,
    SOQL,
    TEXT,
    XML_SNIPPETS,
    LoggedErrors,
    check,
    deep_json,
    dump,
    fill,
    headers,
    route_paths,
    segments,
    send,
    soap_envelope,
)

SWEEP = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
API = "/services/data/v62.0"


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
    count = len(PARAM.findall(template.replace("{version}", "")))
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
    fields=st.one_of(st.none(), st.text(TEXT, max_size=40)),
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


@pytest.mark.parametrize("field", LEAD_FIELDS)
@settings(SWEEP, max_examples=15)
@given(value=FIELD_VALUES, update=st.booleans())
def test_every_lead_field_survives_wrong_types(
    field: str,
    value: Any,
    update: bool,
    api: ApiClient,
    known: dict[str, str],
    logged: LoggedErrors,
) -> None:
    record = {"LastName": "Sweep", "Company": "Acme", field: value}
    method, path = (
        ("PATCH", f"sobjects/Lead/{known['lead']}") if update else ("POST", "sobjects/Lead")
    )
    response = api.request(method, path, content=dump(record))
    check(response, logged, f"{method} {path} {field}={value!r:.300}")


@SWEEP
@given(
    template=st.sampled_from(DEEP_TEMPLATES),
    depth=st.one_of(st.integers(1, 3000), st.sampled_from([199, 200, 254, 255, 256, 1024, 1025])),
    in_objects=st.booleans(),
)
def test_deep_nesting_survives(
    template: tuple[str, str, bytes],
    depth: int,
    in_objects: bool,
    api: ApiClient,
    logged: LoggedErrors,
) -> None:
    method, path, body = template
    content = body.replace(b"@", deep_json(depth, in_objects))
    response = api.request(method, path, content=content)
    check(response, logged, f"{method} {path} nested {depth} deep")


@SWEEP
@given(
    resource=st.sampled_from(["query", "queryAll", "query/", "queryAll/"]),
    soql=SOQL,
    options=st.one_of(st.none(), HEADER_TEXT, st.sampled_from(["batchSize=200"])),
    locator=st.one_of(st.none(), st.text(TEXT, max_size=30), st.just("01gx-99999999999999")),
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


@SWEEP
@given(call=COMPOSITE_CALLS, query=QUERY)
def test_composite_family_survives_garbage(
    call: tuple[str, str, Any],
    query: dict[str, str],
    api: ApiClient,
    logged: LoggedErrors,
) -> None:
    method, path, body = call
    response = api.request(method, path, content=dump(body), params=query)
    check(response, logged, f"{method} {path} {query!r} {body!r:.400}")


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
        made = api.post(f"jobs/{kind}", content=dump(create))
        check(made, logged, f"POST jobs/{kind} {create!r:.300}")
        job = made.json().get("id") if made.status_code == 200 else known[kind]
        steps: list[tuple[str, str, bytes, dict[str, str]]] = [
            ("PUT", f"jobs/{kind}/{job}/batches", upload, {"Content-Type": content_type}),
            ("PATCH", f"jobs/{kind}/{job}", dump(state), {}),
            ("GET", f"jobs/{kind}/{job}", b"", {}),
            ("GET", f"jobs/{kind}/{job}/results", b"", {}),
            ("GET", f"jobs/{kind}/{job}/{results}", b"", {}),
            ("GET", f"jobs/{kind}", b"", {}),
        ]
        for method, path, body, header in steps:
            response = api.request(method, path, content=body, headers=header, params=query)
            check(response, logged, f"{method} {path} {query!r} {body!r:.300}")


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
    header=HEADER_TEXT,
    ids=st.lists(segments(FAKE_IDS), min_size=2, max_size=2),
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


@SWEEP
@given(
    api_kind=st.sampled_from(["u", "c"]),
    version=st.sampled_from(["62.0", "12.0", "abc", "62.0/00D000000000001", "%00"]),
    snippet=XML_SNIPPETS,
    junk=st.one_of(
        st.text(TEXT.filter(lambda c: c not in "<&"), max_size=30),
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
    body = raw if raw is not None else soap_envelope(operation, api.token if with_session else None)
    url = f"/services/Soap/{api_kind}/{version}"
    response = client.post(url, content=body, headers={"Content-Type": "text/xml"})
    check(response, logged, f"POST {url} {body[:300]!r}")


@SWEEP
@given(
    path=st.sampled_from(
        ["status", "faults", "clock", "limits", "sessions/expire", "nope", "faults/"]
    ),
    method=st.sampled_from(["POST", "POST", "GET", "DELETE", "PUT"]),
    body=ADMIN_BODIES,
)
def test_admin_routes_survive_garbage(
    path: str, method: str, body: bytes, client: TestClient, logged: LoggedErrors
) -> None:
    response = client.request(method, f"/_emulator/{path}", content=body)
    check(response, logged, f"{method} /_emulator/{path} {body[:300]!r}")
    # The org must still answer its status after whatever the garbage did to it.
    check(client.get("/_emulator/status"), logged, f"status after {method} {path} {body[:300]!r}")


# -- bugs the sweep found ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", f"{API}/nope", 404, "NOT_FOUND"),
        ("GET", f"{API}/sobjects/Lead/describe/nope", 404, "NOT_FOUND"),
        ("GET", "/services/data/v62/limits", 404, "NOT_FOUND"),
        ("GET", "/services/data/latest", 404, "NOT_FOUND"),
        ("POST", f"{API}/limits", 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/services/data", 405, "METHOD_NOT_ALLOWED"),
        ("OPTIONS", f"{API}/query", 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_unrouted_api_requests_answer_in_the_rest_envelope(
    api: ApiClient, method: str, path: str, status: int, code: str
) -> None:
    response = api.request(method, path)
    assert response.status_code == status
    [error] = response.json()
    assert error["errorCode"] == code


def test_method_not_allowed_names_every_method_of_the_path(api: ApiClient) -> None:
    # GET /sobjects/Lead (describe) and POST (create) are separate routes on one path.
    response = api.put("sobjects/Lead", json={})
    assert response.status_code == 405
    assert response.json()[0]["message"] == (
        "HTTP Method 'PUT' not allowed. Allowed are GET,POST,HEAD"
    )


def test_composite_sub_request_to_unknown_path_is_not_found(api: ApiClient) -> None:
    body = {"batchRequests": [{"method": "PUT", "url": "v62.0/limits"}]}
    [result] = api.post("composite/batch", json=body).json()["results"]
    assert result["statusCode"] == 405
    assert result["result"][0]["errorCode"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("NumberOfEmployees", 1e30),
        ("NumberOfEmployees", "999999999999999999999"),
        ("NumberOfEmployees", 100_000_000),
        ("AnnualRevenue", 1e19),
        ("Latitude", -1000.5),
        ("Lead_Score__c", 10**10),
    ],
)
def test_numbers_beyond_a_fields_precision_are_out_of_range(
    api: ApiClient, known: dict[str, str], field: str, value: Any
) -> None:
    for method, path in (("POST", "sobjects/Lead"), ("PATCH", f"sobjects/Lead/{known['lead']}")):
        response = api.request(method, path, json={"LastName": "N", "Company": "C", field: value})
        assert response.status_code == 400, response.text
        [error] = response.json()
        assert error["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
        assert error["fields"] == [field]


def test_numbers_within_precision_are_stored(api: ApiClient) -> None:
    values = {"NumberOfEmployees": 99_999_999, "AnnualRevenue": 1e17, "Latitude": -999.5}
    created = api.post("sobjects/Lead", json={"LastName": "N", "Company": "C", **values})
    assert created.status_code == 201, created.text
    row = api.get(f"sobjects/Lead/{created.json()['id']}").json()
    assert {k: row[k] for k in values} == values


def test_epoch_millis_beyond_year_9999_is_a_type_error(org: Org, client: TestClient) -> None:
    admin = ApiClient(client, login(org, "admin@example.com"))
    event = {"Subject": "x", "DurationInMinutes": 5, "ActivityDateTime": 1e300}
    response = admin.post("sobjects/Event", json={**event, "StartDateTime": 1e300})
    assert response.status_code == 400
    assert {e["errorCode"] for e in response.json()} == {"INVALID_TYPE_ON_FIELD_IN_RECORD"}


def test_collection_out_of_range_number_is_a_record_error(api: ApiClient) -> None:
    records = [
        {
            "attributes": {"type": "Lead"},
            "LastName": "A",
            "Company": "C",
            "NumberOfEmployees": 1e30,
        },
        {"attributes": {"type": "Lead"}, "LastName": "B", "Company": "C"},
    ]
    first, second = api.post("composite/sobjects", json={"records": records}).json()
    assert first["errors"][0]["statusCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert second["success"] is True


def test_datetime_whose_offset_leaves_the_calendar_is_refused(api: ApiClient) -> None:
    soql = "SELECT Id FROM Lead WHERE CreatedDate > 9999-12-31T23:59:59-14:00"
    response = api.get("query", params={"q": soql})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"
    window = {"start": "0001-01-01T00:00:00+14:00", "end": "2024-01-01T00:00:00Z"}
    response = api.get("sobjects/Lead/updated", params=window)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_soql_unicode_escapes_pair_up_and_lone_surrogates_match_nothing(api: ApiClient) -> None:
    created = api.post("sobjects/Lead", json={"LastName": "Smile \U0001f600", "Company": "C"})
    assert created.status_code == 201
    paired = api.query("SELECT Id FROM Lead WHERE LastName = 'Smile \\uD83D\\uDE00'")
    assert [r["Id"] for r in paired["records"]] == [created.json()["id"]]
    lone = api.query("SELECT Id FROM Lead WHERE LastName LIKE '%\\ud800%'")
    assert lone["totalSize"] == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_token_endpoint_wants_post_in_its_own_envelope(client: TestClient, method: str) -> None:
    response = client.request(method, "/services/oauth2/token")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "must use HTTP POST",
    }


def test_soap_fault_echoing_control_characters_is_well_formed(client: TestClient) -> None:
    response = client.post("/services/Soap/u/%00%1B", content=soap_envelope("<logout/>", None))
    assert response.status_code == 500
    fault = fromstring(response.content)
    texts = "".join(fault.itertext())
    assert "UNSUPPORTED_API_VERSION" in texts and "\ufffd\ufffd" in texts


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("clock", {"advance": 1e300}),
        ("clock", {"advance": -1e300}),
        ("clock", {"set": 1e300}),
        ("clock", {"set": 253402300799, "advance": 1}),
        ("limits", {"used": 1e300}),
        ("limits", {"max": 10**30}),
    ],
)
def test_admin_numbers_out_of_range_are_refused(
    client: TestClient, org: Org, path: str, body: dict[str, Any]
) -> None:
    org.clock.freeze()
    before = (org.clock.now(), org.limits.used, org.limits.maximum)
    response = client.post(f"/_emulator/{path}", json=body)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_INPUT"
    assert (org.clock.now(), org.limits.used, org.limits.maximum) == before
    assert client.get("/_emulator/status").status_code == 200


@pytest.mark.parametrize(
    ("path", "key", "field"),
    [("composite", "compositeRequest", "body"), ("composite/batch", "batchRequests", "richInput")],
)
def test_composite_refuses_bodies_nested_deeper_than_it_can_dispatch(
    api: ApiClient, path: str, key: str, field: str
) -> None:
    sub = {"method": "POST", "url": "/services/data/v62.0/sobjects/Lead", "referenceId": "r"}
    head = dump({key: [sub]})[: -len(b"}]}")]
    content = head + f', "{field}": {{"LastName": '.encode() + deep_json(300, False) + b"}}]}"
    response = api.post(path, content=content)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    # Within the limit junk is an ordinary per-record type error.
    shallow = {key: [{**sub, field: {"LastName": [[["x"]]], "Company": "c"}}]}
    assert api.post(path, json=shallow).status_code == 200


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "lock", "count": 1e19},
        {"kind": "lock", "count": 10**30},
        {"kind": "slow", "count": 1, "delay": 1e300},
        {"kind": "slow", "count": 1, "delay": -5},
        {"kind": "slow", "count": 1, "delay": "nan"},
    ],
)
def test_fault_rules_out_of_range_are_refused(
    client: TestClient, org: Org, rule: dict[str, Any]
) -> None:
    response = client.post("/_emulator/faults", json=rule)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_INPUT"
    assert org.faults.rules() == []
