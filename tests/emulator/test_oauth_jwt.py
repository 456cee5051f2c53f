"""OAuth JWT bearer grant, and simple-salesforce's own OAuth logins over a socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from simple_salesforce import SalesforceLogin
from starlette.testclient import TestClient

from leadsync.emulator import orgfile
from leadsync.emulator.app import create_app
from leadsync.emulator.auth import JWT_GRANT
from leadsync.emulator.org import Org
from tests.support.redirect import redirected_session
from tests.support.server import EmulatorServer

from .test_oauth import CLIENT_ID, SECRET, assert_oauth_error, replace_client, token, whoami


@pytest.fixture
def keyed_http() -> Iterator[TestClient]:
    """An org whose OAuth client registers the public half of `_KEY` as PEM text."""
    definition = orgfile.load()
    replace_client(definition, jwt_public_key=_pem_public(_KEY))
    org = Org(definition)
    with TestClient(create_app(org)) as client:
        yield client
    org.close()


# -- JWT bearer grant ----------------------------------------------------------------------

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_HMAC_SECRET = "a-shared-secret-long-enough-for-hs256!"


def _pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_public(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def assertion(
    *,
    key: rsa.RSAPrivateKey = _KEY,
    algorithm: str = "RS256",
    exp_in: int = 180,
    now: float | None = None,
    **claims: Any,
) -> str:
    body: dict[str, Any] = {
        "iss": CLIENT_ID,
        "sub": "sync@example.com",
        "aud": "https://login.salesforce.com",
        "exp": int((now if now is not None else time.time()) + exp_in),
    }
    body.update(claims)
    signing_key: Any = (
        _pem_private(key) if algorithm == "RS256" else "a-shared-secret-long-enough-for-hs256!"
    )
    return jwt.encode(body, signing_key, algorithm=algorithm)


def jwt_token(http: TestClient, value: str) -> Any:
    return token(http, grant_type=JWT_GRANT, assertion=value)


def test_jwt_dev_mode_accepts_any_rs256_assertion(http: TestClient, org: Org) -> None:
    response = jwt_token(http, assertion(key=_OTHER_KEY))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "instance_url", "id", "token_type"}
    assert whoami(http, body["access_token"]) == "sync@example.com"
    # The emulator's own address is a valid audience too.
    assert jwt_token(http, assertion(aud="http://testserver")).status_code == 200
    assert jwt_token(http, assertion(aud=org.instance_url)).status_code == 200


def test_jwt_errors(http: TestClient, org: Org) -> None:
    invalid = ("invalid_grant", "invalid assertion")
    assert_oauth_error(jwt_token(http, "not-a-jwt"), *invalid)
    assert_oauth_error(jwt_token(http, ""), *invalid)
    assert_oauth_error(jwt_token(http, assertion(algorithm="HS256")), *invalid)
    assert_oauth_error(jwt_token(http, assertion(exp=None)), *invalid)
    assert_oauth_error(
        jwt_token(http, assertion(iss="nobody")), "invalid_client_id", "client identifier invalid"
    )
    assert_oauth_error(
        jwt_token(http, assertion(aud="https://elsewhere.example.com")),
        "invalid_grant",
        "audience is invalid",
    )
    assert_oauth_error(
        jwt_token(http, assertion(sub="ghost@example.com")),
        "invalid_grant",
        "user hasn't approved this consumer",
    )
    org.clock.freeze()
    stale = assertion(now=org.clock.now(), exp_in=60)
    org.clock.advance(60 + 181)
    assert_oauth_error(jwt_token(http, stale), "invalid_grant", "expired authorization code")


def test_jwt_signature_checked_against_a_registered_key(keyed_http: TestClient) -> None:
    assert jwt_token(keyed_http, assertion()).status_code == 200
    assert_oauth_error(
        jwt_token(keyed_http, assertion(key=_OTHER_KEY)), "invalid_grant", "invalid assertion"
    )


def test_jwt_signature_checked_against_a_certificate_file(tmp_path: Path) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leadsync-test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(_KEY, hashes.SHA256())
    )
    path = tmp_path / "client.crt"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    definition = orgfile.load()
    replace_client(definition, jwt_public_key=str(path))
    org = Org(definition)
    try:
        with TestClient(create_app(org)) as client:
            assert jwt_token(client, assertion()).status_code == 200
            assert jwt_token(client, assertion(key=_OTHER_KEY)).status_code == 400
    finally:
        org.close()


# -- unmodified simple-salesforce logins over a socket ---------------------------------------


def test_simple_salesforce_oauth_logins_against_a_running_emulator(org: Org) -> None:
    with EmulatorServer(org) as server:
        # Client credentials needs a My Domain host; the adapter maps it here too.
        session = redirected_session(server.url, extra=["https://acme.my.salesforce.com"])
        instance = f"127.0.0.1:{server.port}"
        password_session, host = SalesforceLogin(
            username="sync@example.com",
            password="password",
            consumer_key=CLIENT_ID,
            consumer_secret=SECRET,
            session=session,
        )
        assert host == instance
        jwt_session, host = SalesforceLogin(
            username="admin@example.com",
            consumer_key=CLIENT_ID,
            privatekey=_pem_private(_KEY).decode(),
            session=session,
        )
        assert host == instance
        assert org.sessions.validate(jwt_session).username == "admin@example.com"
        credentials_session, host = SalesforceLogin(
            consumer_key=CLIENT_ID, consumer_secret=SECRET, domain="acme.my", session=session
        )
        assert host == instance
        assert org.sessions.validate(credentials_session).username == "sync@example.com"
        assert org.sessions.validate(password_session).username == "sync@example.com"
