"""OAuth: every grant with its errors, the authorize + code flow, revocation and identity."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from leadsync.emulator import orgfile
from leadsync.emulator.app import create_app
from leadsync.emulator.oauth_flow import OAuthFlowError, mint_refresh_token
from leadsync.emulator.org import Org
from tests.support.server import EmulatorServer

CLIENT_ID = "leadsync"
SECRET = "leadsync-secret"
REDIRECT = "http://localhost:8485/callback"
TOKEN_URL = "/services/oauth2/token"


def token(http: TestClient, **form: str) -> Any:
    return http.post(TOKEN_URL, data=form)


def password_form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "password",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "username": "sync@example.com",
        "password": "password",
    }
    form.update(overrides)
    return form


def assert_oauth_error(response: Any, error: str, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error, "error_description": description}


def rest_status(http: TestClient, access_token: str) -> int:
    response = http.get(
        "/services/data/v62.0/limits", headers={"Authorization": f"Bearer {access_token}"}
    )
    return int(response.status_code)


def authorize_code(
    http: TestClient, username: str = "sync@example.com", state: str = "st-1"
) -> str:
    response = http.post(
        "/services/oauth2/authorize",
        data={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": state,
            "username": username,
            "password": "password",
        },
        follow_redirects=False,
    )
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(http: TestClient, code: str, **overrides: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "redirect_uri": REDIRECT,
    }
    form.update(overrides)
    return http.post(TOKEN_URL, data=form)


def refresh_token_for(http: TestClient, username: str = "sync@example.com") -> str:
    response = exchange(http, authorize_code(http, username))
    assert response.status_code == 200, response.text
    return str(response.json()["refresh_token"])


def deactivate(org: Org, username: str) -> None:
    with org.store.write() as conn:
        conn.execute('UPDATE "User" SET "IsActive" = 0 WHERE "Username" = ?', (username,))


@pytest.fixture
def custom_org(request: pytest.FixtureRequest) -> Iterator[Org]:
    """An org whose definition the test adjusts through `request.param` (a callable)."""
    definition = orgfile.load()
    request.param(definition)
    org = Org(definition)
    yield org
    org.close()


@pytest.fixture
def custom_http(custom_org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(custom_org)) as client:
        yield client


def replace_client(definition: orgfile.OrgDefinition, **changes: Any) -> None:
    definition.oauth_clients[0] = dataclasses.replace(definition.oauth_clients[0], **changes)


# -- password grant ------------------------------------------------------------------------


def test_password_grant_response_shape(http: TestClient, org: Org) -> None:
    org.instance_url = "https://emulator.local"
    response = token(http, **password_form())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    user = org.find_user("sync@example.com")
    assert user is not None
    assert body["instance_url"] == "https://emulator.local"
    assert body["id"] == f"https://emulator.local/id/{org.id}/{user.id}"
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith(org.id[:15] + "!")
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    expected = hmac.new(
        SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert base64.b64decode(body["signature"]) == expected
    assert "refresh_token" not in body
    assert rest_status(http, body["access_token"]) == 200


def test_password_grant_errors(http: TestClient, org: Org) -> None:
    assert_oauth_error(
        token(http, **password_form(password="nope")), "invalid_grant", "authentication failure"
    )
    assert_oauth_error(
        token(http, **password_form(username="ghost@example.com")),
        "invalid_grant",
        "authentication failure",
    )
    assert_oauth_error(
        token(http, **password_form(client_id="other")),
        "invalid_client_id",
        "client identifier invalid",
    )
    assert_oauth_error(
        token(http, **password_form(client_secret="wrong")),
        "invalid_client",
        "invalid client credentials",
    )
    deactivate(org, "sync@example.com")
    assert_oauth_error(token(http, **password_form()), "invalid_grant", "authentication failure")


def test_non_ascii_credentials_are_refused_not_crashed(http: TestClient) -> None:
    assert_oauth_error(
        token(http, **password_form(client_id="klïent")),
        "invalid_client_id",
        "client identifier invalid",
    )
    assert_oauth_error(
        token(http, **password_form(client_secret="sécret")),
        "invalid_client",
        "invalid client credentials",
    )
    assert_oauth_error(
        token(http, **password_form(password="pässwörd", username="ünïcode@example.com")),
        "invalid_grant",
        "authentication failure",
    )


def test_missing_and_unknown_grant_types(http: TestClient) -> None:
    assert_oauth_error(token(http), "invalid_request", "grant type is missing")
    assert_oauth_error(
        token(http, grant_type="device_code"), "unsupported_grant_type", "grant type not supported"
    )
    # A JSON body is not a form: the grant type is missing, never a 500.
    response = http.post(TOKEN_URL, json={"grant_type": "password"})
    assert_oauth_error(response, "invalid_request", "grant type is missing")


def _with_security_token(definition: orgfile.OrgDefinition) -> None:
    definition.users[1] = dataclasses.replace(definition.users[1], security_token="TOK123")


@pytest.mark.parametrize("custom_org", [_with_security_token], indirect=True)
def test_password_may_carry_the_users_security_token(custom_http: TestClient) -> None:
    assert token(custom_http, **password_form()).status_code == 200
    assert token(custom_http, **password_form(password="passwordTOK123")).status_code == 200
    assert_oauth_error(
        token(custom_http, **password_form(password="passwordOTHER")),
        "invalid_grant",
        "authentication failure",
    )


def test_password_followed_by_a_token_fails_when_the_user_has_none(http: TestClient) -> None:
    assert_oauth_error(
        token(http, **password_form(password="passwordANYTHING")),
        "invalid_grant",
        "authentication failure",
    )


# -- token lifetime --------------------------------------------------------------------------


def _short_sessions(definition: orgfile.OrgDefinition) -> None:
    definition.session_lifetime_seconds = 60


@pytest.mark.parametrize("custom_org", [_short_sessions], indirect=True)
def test_tokens_expire_after_the_configured_lifetime(
    custom_http: TestClient, custom_org: Org
) -> None:
    custom_org.clock.freeze()
    access = token(custom_http, **password_form()).json()["access_token"]
    custom_org.clock.advance(59)
    assert rest_status(custom_http, access) == 200
    custom_org.clock.advance(1)
    response = custom_http.get(
        "/services/data/v62.0/limits", headers={"Authorization": f"Bearer {access}"}
    )
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


# -- authorization code flow ---------------------------------------------------------------


def test_authorize_serves_a_login_form(http: TestClient) -> None:
    response = http.get(
        "/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "a&b<c>",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<form method="post" action="/services/oauth2/authorize">' in page
    assert 'name="password"' in page
    assert "a&amp;b&lt;c&gt;" in page  # the state is carried, escaped


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"client_id": "nobody"}, "invalid_client_id"),
        ({"redirect_uri": "https://evil.example.com/cb"}, "redirect_uri_mismatch"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_refuses_bad_requests(
    http: TestClient, params: dict[str, str], needle: str
) -> None:
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT}
    query.update(params)
    response = http.get("/services/oauth2/authorize", params=query)
    assert response.status_code == 400
    assert needle in response.text


def test_authorize_with_a_wrong_password_shows_the_form_again(http: TestClient) -> None:
    response = http.post(
        "/services/oauth2/authorize",
        data={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "username": "sync@example.com",
            "password": "wrong",
        },
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert "location" not in response.headers
    assert "check your username and password" in response.text


def test_code_flow_end_to_end(http: TestClient, org: Org) -> None:
    code = authorize_code(http, "admin@example.com")
    response = exchange(http, code)
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "api refresh_token"
    assert body["refresh_token"].startswith("5Aep")
    assert rest_status(http, body["access_token"]) == 200
    admin = org.find_user("admin@example.com")
    assert admin is not None
    assert body["id"].endswith(f"/{admin.id}")
    # Stored hashed: the raw token is nowhere in the table.
    stored = org.store.reader().execute("SELECT token_hash FROM _emu_refresh_tokens").fetchall()
    assert stored and all(row[0] != body["refresh_token"] for row in stored)
    # Codes are single use.
    assert_oauth_error(exchange(http, code), "invalid_grant", "invalid authorization code")


def test_code_exchange_errors(http: TestClient, org: Org) -> None:
    assert_oauth_error(
        exchange(http, authorize_code(http), client_secret="bad"),
        "invalid_client",
        "invalid client credentials",
    )
    assert_oauth_error(
        exchange(http, authorize_code(http), redirect_uri="http://localhost:9999/x"),
        "invalid_grant",
        "redirect_uri must match configuration",
    )
    org.clock.freeze()
    code = authorize_code(http)
    org.clock.advance(16 * 60)
    assert_oauth_error(exchange(http, code), "invalid_grant", "expired authorization code")


# -- refresh_token grant ---------------------------------------------------------------------


def refresh_form(refresh: str, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "refresh_token": refresh,
    }
    form.update(overrides)
    return form


def test_refresh_grant_issues_a_new_session(http: TestClient) -> None:
    refresh = refresh_token_for(http)
    response = token(http, **refresh_form(refresh))
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "api refresh_token"
    assert "refresh_token" not in body  # no rotation by default
    assert rest_status(http, body["access_token"]) == 200
    # The secret is optional for refresh; the same token keeps working.
    without_secret = refresh_form(refresh)
    del without_secret["client_secret"]
    assert token(http, **without_secret).status_code == 200


def test_refresh_grant_errors(http: TestClient, org: Org) -> None:
    refresh = refresh_token_for(http)
    expired = ("invalid_grant", "expired access/refresh token")
    assert_oauth_error(token(http, **refresh_form("5Aepnotatoken")), *expired)
    assert_oauth_error(token(http, **refresh_form("")), *expired)
    assert_oauth_error(
        token(http, **refresh_form(refresh, client_secret="bad")),
        "invalid_client",
        "invalid client credentials",
    )
    assert_oauth_error(
        token(http, **refresh_form(refresh, client_id="nobody")),
        "invalid_client_id",
        "client identifier invalid",
    )
    deactivate(org, "sync@example.com")
    assert_oauth_error(token(http, **refresh_form(refresh)), *expired)


def _rotating(definition: orgfile.OrgDefinition) -> None:
    replace_client(definition, rotate_refresh_tokens=True)


@pytest.mark.parametrize("custom_org", [_rotating], indirect=True)
def test_refresh_token_rotation_when_enabled(custom_http: TestClient) -> None:
    first = refresh_token_for(custom_http)
    response = token(custom_http, **refresh_form(first))
    assert response.status_code == 200
    second = response.json()["refresh_token"]
    assert second != first
    assert_oauth_error(
        token(custom_http, **refresh_form(first)), "invalid_grant", "expired access/refresh token"
    )
    assert token(custom_http, **refresh_form(second)).status_code == 200


# -- client_credentials grant ----------------------------------------------------------------


def whoami(http: TestClient, access_token: str) -> str:
    response = http.get(
        "/services/oauth2/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )
    assert response.status_code == 200
    return str(response.json()["preferred_username"])


def test_client_credentials_with_basic_header_runs_as_the_sync_user(http: TestClient) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    response = http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "api"
    assert "refresh_token" not in body
    assert whoami(http, body["access_token"]) == "sync@example.com"


def test_client_credentials_in_the_body(http: TestClient) -> None:
    response = token(
        http, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=SECRET
    )
    assert response.status_code == 200


def test_client_credentials_errors(http: TestClient, org: Org) -> None:
    wrong = base64.b64encode(f"{CLIENT_ID}:nope".encode()).decode()
    response = http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert_oauth_error(response, "invalid_client", "invalid client credentials")
    response = http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!not-base64"},
    )
    assert_oauth_error(response, "invalid_client", "invalid client credentials")
    assert_oauth_error(
        token(http, grant_type="client_credentials", client_id="x", client_secret="y"),
        "invalid_client_id",
        "client identifier invalid",
    )
    deactivate(org, "sync@example.com")
    assert_oauth_error(
        token(http, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=SECRET),
        "invalid_grant",
        "no client credentials user enabled",
    )


def test_org_file_reads_the_new_client_and_user_settings() -> None:
    definition = orgfile.from_mapping(
        {
            "profiles": [{"name": "System Administrator"}],
            "users": [
                {"username": "a@x.com", "password": "p", "last_name": "A", "security_token": "T"}
            ],
            "oauth_clients": [
                {
                    "client_id": "c",
                    "client_secret": "s",
                    "jwt_public_key": "/keys/c.pem",
                    "run_as": "a@x.com",
                    "rotate_refresh_tokens": True,
                }
            ],
        }
    )
    assert definition.users[0].security_token == "T"
    client = definition.oauth_clients[0]
    assert (client.jwt_public_key, client.run_as, client.rotate_refresh_tokens) == (
        "/keys/c.pem",
        "a@x.com",
        True,
    )
    assert orgfile.load().oauth_clients[0].run_as == "sync@example.com"


# -- revoke, userinfo, identity ------------------------------------------------------------


def test_revoke_access_and_refresh_tokens(http: TestClient) -> None:
    access = token(http, **password_form()).json()["access_token"]
    assert http.post("/services/oauth2/revoke", data={"token": access}).status_code == 200
    assert rest_status(http, access) == 401
    refresh = refresh_token_for(http)
    assert http.post("/services/oauth2/revoke", data={"token": refresh}).status_code == 200
    assert_oauth_error(
        token(http, **refresh_form(refresh)), "invalid_grant", "expired access/refresh token"
    )
    unknown = http.post("/services/oauth2/revoke", data={"token": "nothing"})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unsupported_token_type"


def test_identity_url_and_userinfo(http: TestClient, org: Org) -> None:
    body = token(http, **password_form()).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    identity = http.get(urlsplit(body["id"]).path, headers=headers)
    assert identity.status_code == 200
    document = identity.json()
    assert document["username"] == "sync@example.com"
    assert document["organization_id"] == org.id
    assert document["id"] == body["id"]
    assert document["active"] is True
    assert http.get(urlsplit(body["id"]).path).status_code == 403
    assert http.get("/services/oauth2/userinfo").status_code == 403
    info = http.get("/services/oauth2/userinfo", headers=headers).json()
    assert info["user_id"] == document["user_id"]
    assert info["email"] == "sync@example.com"


# -- minting a refresh token against a running server --------------------------------------


def test_mint_refresh_token_against_a_running_emulator(org: Org) -> None:
    with EmulatorServer(org) as server:
        refresh = mint_refresh_token(server.url, "sync@example.com", "password", CLIENT_ID, SECRET)
        # The minted token is what tap-salesforce and airbyte then log in with.
        with TestClient(create_app(org)) as client:
            response = token(client, **refresh_form(refresh))
            assert response.status_code == 200
            assert response.json()["instance_url"] == server.url
        with pytest.raises(OAuthFlowError, match="login failed"):
            mint_refresh_token(server.url, "sync@example.com", "bad", CLIENT_ID, SECRET)
        with pytest.raises(OAuthFlowError, match="invalid_client"):
            mint_refresh_token(server.url, "sync@example.com", "password", CLIENT_ID, "bad")
