"""OAuth 2.0 grants and logins of the emulated org.

Grants: password, refresh_token, client_credentials, JWT bearer and authorization_code (with
the authorize step in `api/oauth.py`). Every failure is an `AuthError` carrying Salesforce's own
`error` / `error_description` texts, since clients branch on them (airbyte stops on
"expired access/refresh token"). Refresh tokens are stored hashed; authorization codes live in
memory, like access tokens, so a restarted org simply asks the user to authorize again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt

from .errors import AuthError
from .orgfile import OAuthClient

if TYPE_CHECKING:
    from .org import Org, UserRecord

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The audiences a JWT assertion may name besides the emulator's own addresses.
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
AUTH_CODE_SECONDS = 15 * 60
# JWT clocks drift; Salesforce tolerates a few minutes of skew on `exp`.
JWT_LEEWAY_SECONDS = 180


# -- errors (texts as Salesforce sends them) -----------------------------------------------


def authentication_failure() -> AuthError:
    return AuthError("invalid_grant", "authentication failure")


def expired_token() -> AuthError:
    return AuthError("invalid_grant", "expired access/refresh token")


def unknown_client() -> AuthError:
    return AuthError("invalid_client_id", "client identifier invalid")


def bad_client_secret() -> AuthError:
    return AuthError("invalid_client", "invalid client credentials")


def invalid_assertion() -> AuthError:
    return AuthError("invalid_grant", "invalid assertion")


# -- clients and users -------------------------------------------------------------------


def find_client(org: Org, client_id: str | None) -> OAuthClient:
    for client in org.definition.oauth_clients:
        if client_id and secrets.compare_digest(client.client_id.encode(), client_id.encode()):
            return client
    raise unknown_client()


def check_client_secret(client: OAuthClient, secret: str | None) -> None:
    if secret is None or not secrets.compare_digest(client.client_secret.encode(), secret.encode()):
        raise bad_client_secret()


def security_token(org: Org, username: str) -> str:
    lowered = username.lower()
    for spec in org.definition.users:
        if spec.username.lower() == lowered:
            return spec.security_token
    return ""


def verify_login(org: Org, username: str, password: str) -> UserRecord | None:
    """The active user whose password is `password`, or the password followed by the user's
    security token (empty unless the org file sets one); None otherwise."""
    if not username or not password:
        return None
    user = org.find_user(username)
    if user is None or not user.is_active:
        return None
    if org.check_password(user, password):
        return user
    token = security_token(org, user.username)
    if token and password.endswith(token) and org.check_password(user, password[: -len(token)]):
        return user
    return None


def identity_url(org: Org, user_id: str) -> str:
    return f"{org.instance_url.rstrip('/')}/id/{org.id}/{user_id}"


# -- token responses -----------------------------------------------------------------------


def token_response(
    org: Org,
    user: UserRecord,
    client: OAuthClient,
    *,
    scope: str | None,
    refresh_token: str | None = None,
    signed: bool = True,
) -> dict[str, Any]:
    """Open a session for `user` and describe it as the token endpoint does."""
    session = org.sessions.issue(user.id, user.username, user.profile, client.client_id)
    identity = identity_url(org, user.id)
    body: dict[str, Any] = {"access_token": session.token}
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    if signed:
        issued_at = str(int(org.clock.now_float() * 1000))
        digest = hmac.new(
            client.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        body["signature"] = base64.b64encode(digest).decode()
    if scope:
        body["scope"] = scope
    body["instance_url"] = org.instance_url.rstrip("/")
    body["id"] = identity
    body["token_type"] = "Bearer"
    if signed:
        body["issued_at"] = issued_at
    return body


# -- refresh tokens (hashed at rest) --------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_refresh_token(org: Org, user_id: str, client_id: str) -> str:
    token = "5Aep" + secrets.token_urlsafe(64)
    with org.store.write() as conn:
        conn.execute(
            "INSERT INTO _emu_refresh_tokens (token_hash, user_id, client_id, created) "
            "VALUES (?, ?, ?, ?)",
            (_hash(token), user_id, client_id, org.clock.now()),
        )
    return token


def _refresh_token_owner(org: Org, token: str, client_id: str) -> str | None:
    row = (
        org.store.reader()
        .execute(
            "SELECT user_id, client_id, revoked FROM _emu_refresh_tokens WHERE token_hash = ?",
            (_hash(token),),
        )
        .fetchone()
    )
    if row is None or row[2] or row[1] != client_id:
        return None
    return str(row[0])


def revoke_refresh_token(org: Org, token: str) -> bool:
    with org.store.write() as conn:
        cursor = conn.execute(
            "UPDATE _emu_refresh_tokens SET revoked = 1 WHERE token_hash = ? AND revoked = 0",
            (_hash(token),),
        )
        return cursor.rowcount > 0


# -- authorization codes -----------------------------------------------------------------


@dataclass(frozen=True)
class _PendingCode:
    user_id: str
    client_id: str
    redirect_uri: str
    expires_at: float


class AuthorizationCodes:
    """Single-use codes handed out by the authorize form."""

    def __init__(self) -> None:
        self._codes: dict[str, _PendingCode] = {}
        self._lock = threading.Lock()

    def issue(self, org: Org, user_id: str, client_id: str, redirect_uri: str) -> str:
        code = "aPrx" + secrets.token_urlsafe(48)
        pending = _PendingCode(
            user_id, client_id, redirect_uri, org.clock.now_float() + AUTH_CODE_SECONDS
        )
        with self._lock:
            self._codes[code] = pending
        return code

    def redeem(self, code: str) -> _PendingCode | None:
        with self._lock:
            return self._codes.pop(code, None)


def authorization_codes(org: Org) -> AuthorizationCodes:
    codes = org.extensions.setdefault("oauth_codes", AuthorizationCodes())
    assert isinstance(codes, AuthorizationCodes)
    return codes


def check_authorize_request(
    org: Org, response_type: str | None, client_id: str | None, redirect_uri: str | None
) -> OAuthClient:
    """Validate the authorize step's parameters (before the login form is shown)."""
    client = find_client(org, client_id)
    if not redirect_uri or (client.redirect_uris and redirect_uri not in client.redirect_uris):
        raise AuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
    if response_type != "code":
        raise AuthError("unsupported_response_type", "response type not supported")
    return client


def authorize(
    org: Org, client: OAuthClient, redirect_uri: str, username: str, password: str
) -> str:
    """The login form was submitted: a code for the redirect, or `authentication failure`."""
    user = verify_login(org, username, password)
    if user is None:
        raise authentication_failure()
    return authorization_codes(org).issue(org, user.id, client.client_id, redirect_uri)


# -- the token endpoint ------------------------------------------------------------------


def grant(
    org: Org, form: Mapping[str, str], *, authorization: str | None, origin: str
) -> dict[str, Any]:
    """Run one `/services/oauth2/token` request; `origin` is the URL the request came to."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise AuthError("invalid_request", "grant type is missing")
    handler = _GRANTS.get(grant_type)
    if handler is None:
        raise AuthError("unsupported_grant_type", "grant type not supported")
    return handler(org, form, authorization, origin)


def _user_or_fail(org: Org, user_id: str, error: AuthError) -> UserRecord:
    user = org.user_by_id(user_id)
    if user is None or not user.is_active:
        raise error
    return user


def _password_grant(
    org: Org, form: Mapping[str, str], authorization: str | None, origin: str
) -> dict[str, Any]:
    client = find_client(org, form.get("client_id"))
    check_client_secret(client, form.get("client_secret"))
    user = verify_login(org, form.get("username", ""), form.get("password", ""))
    if user is None:
        raise authentication_failure()
    return token_response(org, user, client, scope=None)


def _refresh_grant(
    org: Org, form: Mapping[str, str], authorization: str | None, origin: str
) -> dict[str, Any]:
    client = find_client(org, form.get("client_id"))
    # The secret is optional for refresh (a connected-app setting); a wrong one still fails.
    if form.get("client_secret") is not None:
        check_client_secret(client, form.get("client_secret"))
    token = form.get("refresh_token") or ""
    user_id = _refresh_token_owner(org, token, client.client_id)
    if user_id is None:
        raise expired_token()
    # Deactivating a user revokes its grants, so the token reads as expired.
    user = _user_or_fail(org, user_id, expired_token())
    rotated = None
    if client.rotate_refresh_tokens:
        revoke_refresh_token(org, token)
        rotated = create_refresh_token(org, user.id, client.client_id)
    return token_response(org, user, client, scope="api refresh_token", refresh_token=rotated)


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise bad_client_secret() from None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise bad_client_secret()
    return client_id, secret


def _client_credentials_grant(
    org: Org, form: Mapping[str, str], authorization: str | None, origin: str
) -> dict[str, Any]:
    basic = _basic_credentials(authorization)
    client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
    client = find_client(org, client_id)
    check_client_secret(client, secret)
    user = org.find_user(client.run_as)
    if user is None or not user.is_active:
        raise AuthError("invalid_grant", "no client credentials user enabled")
    return token_response(org, user, client, scope="api")


def _jwt_grant(
    org: Org, form: Mapping[str, str], authorization: str | None, origin: str
) -> dict[str, Any]:
    assertion = form.get("assertion") or ""
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise invalid_assertion() from None
    if header.get("alg") != "RS256":
        raise invalid_assertion()
    client = find_client(org, str(claims.get("iss") or ""))
    if client.jwt_public_key:
        _verify_signature(assertion, client.jwt_public_key)
    if not _audience_ok(claims.get("aud"), org, origin):
        raise AuthError("invalid_grant", "audience is invalid")
    expires = _expiry(claims.get("exp"))
    if expires is None:
        raise invalid_assertion()
    if expires + JWT_LEEWAY_SECONDS < org.clock.now():
        raise AuthError("invalid_grant", "expired authorization code")
    user = org.find_user(str(claims.get("sub") or ""))
    if user is None or not user.is_active:
        raise AuthError("invalid_grant", "user hasn't approved this consumer")
    return token_response(org, user, client, scope="api", signed=False)


def _expiry(value: Any) -> float | None:
    """`exp` as epoch seconds; simple-salesforce sends it as a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _verify_signature(assertion: str, registered: str) -> None:
    try:
        jwt.decode(
            assertion,
            _public_key(registered),
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_aud": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise invalid_assertion() from None


def _public_key(registered: str) -> Any:
    """The RSA public key from PEM text or a PEM file (certificate or bare public key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = registered if "-----BEGIN" in registered else Path(registered).read_text("ascii")
    data = text.encode()
    if b"CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return load_pem_public_key(data)


def _audience_ok(audience: Any, org: Org, origin: str) -> bool:
    allowed = {a.rstrip("/").lower() for a in (*LOGIN_AUDIENCES, org.instance_url, origin)}
    candidates = audience if isinstance(audience, list) else [audience]
    return any(isinstance(a, str) and a.rstrip("/").lower() in allowed for a in candidates)


def _authorization_code_grant(
    org: Org, form: Mapping[str, str], authorization: str | None, origin: str
) -> dict[str, Any]:
    client = find_client(org, form.get("client_id"))
    check_client_secret(client, form.get("client_secret"))
    pending = authorization_codes(org).redeem(form.get("code") or "")
    if pending is None or pending.client_id != client.client_id:
        raise AuthError("invalid_grant", "invalid authorization code")
    if org.clock.now_float() >= pending.expires_at:
        raise AuthError("invalid_grant", "expired authorization code")
    if form.get("redirect_uri") != pending.redirect_uri:
        raise AuthError("invalid_grant", "redirect_uri must match configuration")
    user = _user_or_fail(org, pending.user_id, authentication_failure())
    refresh = create_refresh_token(org, user.id, client.client_id)
    return token_response(org, user, client, scope="api refresh_token", refresh_token=refresh)


_GRANTS = {
    "password": _password_grant,
    "refresh_token": _refresh_grant,
    "client_credentials": _client_credentials_grant,
    JWT_GRANT: _jwt_grant,
    "authorization_code": _authorization_code_grant,
}


# -- revocation ----------------------------------------------------------------------------


def revoke(org: Org, token: str) -> bool:
    """Revoke an access or refresh token; False when it is neither."""
    if not token:
        return False
    return org.sessions.revoke(token) or revoke_refresh_token(org, token)
