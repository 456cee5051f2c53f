"""Mint a refresh token for a demo user by running the authorization-code flow against a
running emulator (tap-salesforce and airbyte log in only with a refresh token)."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx

DEFAULT_REDIRECT_URI = "http://localhost:8485/callback"


class OAuthFlowError(RuntimeError):
    """The flow did not end in a refresh token; the message says which step failed."""


def mint_refresh_token(
    base_url: str,
    username: str,
    password: str,
    client_id: str,
    client_secret: str,
    *,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    timeout: float = 30.0,
) -> str:
    """Log `username` in through the authorize form and exchange the code for a refresh token.

    The redirect is not followed: the code is read from its Location header, so nothing needs
    to listen on `redirect_uri` (it must be one the OAuth client registers).
    """
    base = base_url.rstrip("/")
    state = secrets.token_urlsafe(16)
    with httpx.Client(base_url=base, timeout=timeout, follow_redirects=False) as http:
        response = http.post(
            "/services/oauth2/authorize",
            data={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "username": username,
                "password": password,
            },
        )
        if response.status_code != 302:
            raise OAuthFlowError(_authorize_failure(response))
        query = parse_qs(urlsplit(response.headers.get("location", "")).query)
        if query.get("state") != [state] or not query.get("code"):
            raise OAuthFlowError("the authorize redirect carried no code for this request")
        exchange = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": redirect_uri,
            },
        )
    if exchange.status_code != 200:
        raise OAuthFlowError(f"code exchange refused: {_oauth_error(exchange)}")
    refresh = exchange.json().get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise OAuthFlowError("the token response carried no refresh_token")
    return refresh


def _authorize_failure(response: httpx.Response) -> str:
    if response.status_code == 200:
        return "login failed: check the username and password"
    return f"authorize refused (HTTP {response.status_code}): {response.text[:200].strip()}"


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{body.get('error')}: {body.get('error_description')}"
    except ValueError:
        return f"HTTP {response.status_code}"
