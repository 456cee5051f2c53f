"""Logging in to Salesforce: refresh token, JWT bearer, password and client-credentials grants.

Secrets are kept out of every repr, log line and error message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ..errors import AuthenticationError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Credentials:
    """How to log in. Which fields are set decides the grant (see `grant_type`)."""

    login_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    jwt_key_file: Path | None = None

    @property
    def grant_type(self) -> str:
        if self.refresh_token:
            return "refresh_token"
        if self.jwt_key_file and self.username and self.client_id:
            return JWT_GRANT
        if self.username and self.password is not None and self.client_id:
            return "password"
        if self.client_id and self.client_secret:
            return "client_credentials"
        raise AuthenticationError(
            "no usable credentials: give a refresh token, a JWT key file with username and "
            "client id, a username and password with a client id, or a client id and secret"
        )

    def secrets(self) -> list[str]:
        """Every secret value, for scrubbing text that might echo one."""
        return [
            s
            for s in (self.password, self.security_token, self.client_secret, self.refresh_token)
            if s
        ]


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    instance_url: str
    issued_at: float


def token_endpoint(login_url: str) -> str:
    parts = urlsplit(login_url)
    return f"{parts.scheme}://{parts.netloc}/services/oauth2/token"


def authenticate(http: httpx.Client, credentials: Credentials) -> Token:
    """Run the grant the credentials call for and return the session token."""
    grant = credentials.grant_type
    form: dict[str, str] = {"grant_type": grant}
    basic: tuple[str, str] | None = None
    if grant == "refresh_token":
        form.update(
            refresh_token=credentials.refresh_token or "", client_id=credentials.client_id or ""
        )
        if credentials.client_secret:
            form["client_secret"] = credentials.client_secret
    elif grant == "password":
        form.update(
            username=credentials.username or "",
            password=(credentials.password or "") + (credentials.security_token or ""),
            client_id=credentials.client_id or "",
            client_secret=credentials.client_secret or "",
        )
    elif grant == JWT_GRANT:
        form["assertion"] = _jwt_assertion(credentials)
    else:
        basic = (credentials.client_id or "", credentials.client_secret or "")
    try:
        response = http.post(
            token_endpoint(credentials.login_url),
            data=form,
            auth=basic if basic is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.HTTPError as exc:
        raise AuthenticationError(
            f"cannot reach {token_endpoint(credentials.login_url)}: {type(exc).__name__}"
        ) from None
    if response.status_code != 200:
        raise AuthenticationError(
            scrub(_oauth_failure(response), credentials), status=response.status_code
        )
    body = response.json()
    return Token(
        access_token=str(body["access_token"]),
        instance_url=str(body["instance_url"]).rstrip("/"),
        issued_at=time.time(),
    )


def scrub(text: str, credentials: Credentials) -> str:
    """`text` with any secret of `credentials` masked (servers may echo what they were sent)."""
    for secret in credentials.secrets():
        text = text.replace(secret, "***")
    return text


def _oauth_failure(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"login refused ({body.get('error')}): {body.get('error_description')}"
    except ValueError:
        return f"login refused with HTTP {response.status_code}"


def _jwt_assertion(credentials: Credentials) -> str:
    import jwt  # only JWT users need the crypto stack loaded

    assert credentials.jwt_key_file is not None
    try:
        key = credentials.jwt_key_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthenticationError(
            f"cannot read the JWT key file {credentials.jwt_key_file}: {exc.strerror}"
        ) from None
    parts = urlsplit(credentials.login_url)
    claims = {
        "iss": credentials.client_id,
        "sub": credentials.username,
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + 180,
    }
    return str(jwt.encode(claims, key, algorithm="RS256"))
