"""The SOAP API: login (parsed the way simple-salesforce parses it), faults, session calls."""

from __future__ import annotations

from xml.dom import minidom
from xml.sax.saxutils import escape

import pytest
from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce import SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from starlette.testclient import TestClient

from leadsync.emulator.org import Org
from tests.support.redirect import redirected_session
from tests.support.server import EmulatorServer

from ..conftest import login

PARTNER = "urn:partner.soap.sforce.com"


def envelope(body: str, session: str | None = None, ns: str = PARTNER) -> str:
    header = ""
    if session is not None:
        header = (
            f"<env:Header><urn:SessionHeader><urn:sessionId>{escape(session)}</urn:sessionId>"
            "</urn:SessionHeader></env:Header>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8" ?>'
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:urn="{ns}">{header}<env:Body>{body}</env:Body></env:Envelope>'
    )


def login_envelope(username: str, password: str) -> str:
    # The shape simple-salesforce sends (CallOptions header, n1: prefix on the operation).
    return (
        '<?xml version="1.0" encoding="utf-8" ?>'
        '<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com">'
        "<env:Header><urn:CallOptions><urn:client>simple-salesforce</urn:client>"
        "<urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions></env:Header>"
        '<env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">'
        f"<n1:username>{escape(username)}</n1:username>"
        f"<n1:password>{escape(password)}</n1:password></n1:login></env:Body></env:Envelope>"
    )


def soap_post(
    http: TestClient, body: str, version: str = "59.0", api: str = "u"
) -> tuple[int, str]:
    response = http.post(
        f"/services/Soap/{api}/{version}",
        content=body.encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": "login", "charset": "UTF-8"},
    )
    assert response.headers["content-type"].startswith("text/xml")
    return response.status_code, response.text


def tag_text(document: str, tag: str) -> str | None:
    """First element by literal tag name, as simple-salesforce's getUniqueElementValue does."""
    nodes = minidom.parseString(document).getElementsByTagName(tag)
    if not nodes or nodes[0].firstChild is None:
        return None
    return str(nodes[0].firstChild.nodeValue)


def fault_of(document: str) -> tuple[str | None, str | None, str | None]:
    return (
        tag_text(document, "faultcode"),
        tag_text(document, "sf:exceptionCode"),
        tag_text(document, "sf:exceptionMessage"),
    )


# -- login -----------------------------------------------------------------------------------


def test_login_response_parses_like_simple_salesforce(http: TestClient, org: Org) -> None:
    org.instance_url = "http://127.0.0.1:8484"
    status, text = soap_post(http, login_envelope("sync@example.com", "password"))
    assert status == 200
    session_id = tag_text(text, "sessionId")
    server_url = tag_text(text, "serverUrl")
    assert session_id is not None and server_url is not None
    host = server_url.replace("http://", "").replace("https://", "").split("/")[0]
    assert host.replace("-api", "") == "127.0.0.1:8484"
    assert server_url.endswith(f"/services/Soap/u/59.0/{org.id[:15]}")
    user = org.find_user("sync@example.com")
    assert user is not None
    assert tag_text(text, "userId") == user.id
    assert tag_text(text, "userName") == "sync@example.com"
    assert tag_text(text, "organizationId") == org.id
    assert tag_text(text, "passwordExpired") == "false"
    # The session works on REST.
    rest = http.get(
        "/services/data/v59.0/limits", headers={"Authorization": f"Bearer {session_id}"}
    )
    assert rest.status_code == 200


def test_login_elements_are_unprefixed_and_attribute_free(http: TestClient) -> None:
    _, text = soap_post(http, login_envelope("sync@example.com", "password"))
    for tag in ("sessionId", "serverUrl"):
        nodes = minidom.parseString(text).getElementsByTagName(tag)
        assert len(nodes) == 1
        assert nodes[0].attributes.length == 0


def test_enterprise_login_names_the_enterprise_endpoint(http: TestClient) -> None:
    body = login_envelope("admin@example.com", "password").replace(
        "urn:partner.soap.sforce.com", "urn:enterprise.soap.sforce.com"
    )
    status, text = soap_post(http, body, api="c", version="62.0")
    assert status == 200
    assert "/services/Soap/c/62.0/" in (tag_text(text, "serverUrl") or "")
    assert 'xmlns="urn:enterprise.soap.sforce.com"' in text


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("sync@example.com", "wrong"),
        ("nobody@example.com", "password"),
        ("sync@example.com", ""),
        ("sync@example.com", "passwordSOMETOKEN"),
    ],
)
def test_login_failure_is_an_invalid_login_fault(
    http: TestClient, username: str, password: str
) -> None:
    status, text = soap_post(http, login_envelope(username, password))
    assert status == 500
    code, exception_code, message = fault_of(text)
    assert code == "sf:INVALID_LOGIN"
    assert exception_code == "INVALID_LOGIN"
    assert message == "Invalid username, password, security token; or user locked out."
    assert tag_text(text, "faultstring") == f"INVALID_LOGIN: {message}"
    assert 'xmlns:sf="urn:fault.partner.soap.sforce.com"' in text
    assert tag_text(text, "sessionId") is None


def test_inactive_user_cannot_log_in(http: TestClient, org: Org) -> None:
    with org.store.write() as conn:
        conn.execute('UPDATE "User" SET "IsActive" = 0 WHERE "Username" = ?', ("sync@example.com",))
    status, text = soap_post(http, login_envelope("sync@example.com", "password"))
    assert status == 500
    assert fault_of(text)[1] == "INVALID_LOGIN"


def test_login_does_not_count_against_the_budget(http: TestClient, org: Org) -> None:
    before = org.limits.used
    soap_post(http, login_envelope("sync@example.com", "password"))
    assert org.limits.used == before


def test_unknown_version_is_a_fault(http: TestClient) -> None:
    status, text = soap_post(http, login_envelope("sync@example.com", "password"), version="9.0")
    assert status == 500
    assert fault_of(text)[1] == "UNSUPPORTED_API_VERSION"


# -- malformed requests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "not xml at all",
        "<env:Envelope xmlns:env='http://schemas.xmlsoap.org/soap/envelope/'>",
        "<a/>",
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
        "",
    ],
)
def test_garbage_is_a_client_fault_never_a_crash(http: TestClient, body: str) -> None:
    status, text = soap_post(http, body)
    assert status == 500
    assert tag_text(text, "faultcode") == "soapenv:Client"


def test_unknown_operation_is_a_client_fault(http: TestClient, org: Org) -> None:
    token = login(org, "sync@example.com")
    status, text = soap_post(http, envelope("<urn:describeGlobal/>", token))
    assert status == 500
    assert tag_text(text, "faultcode") == "soapenv:Client"
    assert "describeGlobal" in (tag_text(text, "faultstring") or "")


# -- session calls ---------------------------------------------------------------------------


def test_get_user_info_with_an_oauth_token(http: TestClient, org: Org) -> None:
    token = login(org, "admin@example.com")
    status, text = soap_post(http, envelope("<urn:getUserInfo/>", token))
    assert status == 200
    assert tag_text(text, "userName") == "admin@example.com"
    assert tag_text(text, "userFullName") == "Ada Admin"
    assert tag_text(text, "sessionSecondsValid") == str(org.sessions.lifetime_seconds)


@pytest.mark.parametrize("token", [None, "", "00Dbogus!token"])
def test_bad_session_header_is_invalid_session_fault(http: TestClient, token: str | None) -> None:
    status, text = soap_post(http, envelope("<urn:getUserInfo/>", token))
    assert status == 500
    code, exception_code, message = fault_of(text)
    assert code == "sf:INVALID_SESSION_ID"
    assert exception_code == "INVALID_SESSION_ID"
    assert message == "Invalid Session ID found in SessionHeader: Illegal Session"


def test_expired_session_is_refused_on_soap(http: TestClient, org: Org) -> None:
    token = login(org, "sync@example.com")
    org.clock.advance(org.sessions.lifetime_seconds + 1)
    status, text = soap_post(http, envelope("<urn:getUserInfo/>", token))
    assert status == 500
    assert fault_of(text)[1] == "INVALID_SESSION_ID"


def test_logout_ends_the_session(http: TestClient, org: Org) -> None:
    token = login(org, "sync@example.com")
    status, text = soap_post(http, envelope("<urn:logout/>", token))
    assert status == 200
    assert "logoutResponse" in text
    rest = http.get("/services/data/v62.0/limits", headers={"Authorization": f"Bearer {token}"})
    assert rest.status_code == 401


def test_session_calls_count_and_respect_the_budget(http: TestClient, org: Org) -> None:
    token = login(org, "sync@example.com")
    before = org.limits.used
    soap_post(http, envelope("<urn:getUserInfo/>", token))
    assert org.limits.used == before + 1
    org.limits.set_used(org.limits.maximum)
    status, text = soap_post(http, envelope("<urn:getUserInfo/>", token))
    assert status == 500
    assert fault_of(text)[1] == "REQUEST_LIMIT_EXCEEDED"


def test_calls_to_the_server_url_with_org_suffix_work(http: TestClient, org: Org) -> None:
    token = login(org, "sync@example.com")
    response = http.post(
        f"/services/Soap/u/62.0/{org.id[:15]}",
        content=envelope("<urn:getUserInfo/>", token).encode(),
        headers={"Content-Type": "text/xml"},
    )
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.find(f".//{{{PARTNER}}}userName").text == "sync@example.com"


# -- unmodified simple-salesforce over a socket ----------------------------------------------


def test_simple_salesforce_login_against_a_running_emulator(org: Org) -> None:
    with EmulatorServer(org) as server:
        session = redirected_session(server.url)
        session_id, instance = SalesforceLogin(
            username="sync@example.com", password="password", security_token="", session=session
        )
        assert instance == f"127.0.0.1:{server.port}"
        assert org.sessions.validate(session_id).username == "sync@example.com"
        with pytest.raises(SalesforceAuthenticationFailed) as failure:
            SalesforceLogin(
                username="sync@example.com", password="nope", security_token="", session=session
            )
        assert failure.value.code == "INVALID_LOGIN"


# -- generated garbage -----------------------------------------------------------------------

# Characters XML 1.0 can carry (no control characters, no surrogates).
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=60)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_text, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_any_body_gets_a_soap_fault_document(http: TestClient, body: str) -> None:
    response = http.post("/services/Soap/u/62.0", content=body.encode("utf-8", "replace"))
    assert response.status_code in (200, 500)
    minidom.parseString(response.text)  # always a well-formed SOAP document
    assert tag_text(response.text, "faultcode") is not None


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lead_id=_text,
    status=_text,
    account=_text,
    contact=_text,
    flag=_text,
    owner=_text,
)
def test_convert_lead_with_garbage_fields_answers_per_lead(
    http: TestClient,
    org: Org,
    lead_id: str,
    status: str,
    account: str,
    contact: str,
    flag: str,
    owner: str,
) -> None:
    token = login(org, "sync@example.com")
    fields = {
        "leadId": lead_id,
        "convertedStatus": status,
        "accountId": account,
        "contactId": contact,
        "doNotCreateOpportunity": flag,
        "ownerId": owner,
    }
    parts = "".join(f"<urn:{k}>{escape(v)}</urn:{k}>" for k, v in fields.items())
    body = f"<urn:convertLead><urn:leadConverts>{parts}</urn:leadConverts></urn:convertLead>"
    status_code, text = soap_post(http, envelope(body, token))
    assert status_code == 200, text
    assert tag_text(text, "success") == "false"
