"""OAuth routes: the token endpoint, the authorize login form, revocation and identity."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .. import auth
from ..app import bearer_token, json_response, org_of
from ..errors import AuthError, SalesforceError
from ..org import Org
from ..sessions import Session

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def _form(request: Request) -> dict[str, str]:
    """Form fields (query parameters as a fallback, as Salesforce accepts both)."""
    values = {k: v for k, v in request.query_params.items()}
    try:
        form = await request.form()
    except Exception:  # a malformed body is a missing grant, never a 500
        return values
    values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return values


def _auth_error(error: AuthError) -> Response:
    return json_response(
        {"error": error.error, "error_description": error.description}, error.status, _NO_STORE
    )


async def token(request: Request) -> Response:
    org = org_of(request)
    if request.method != "POST":
        # The token endpoint answers any other method in its own envelope, not a bare 405.
        return _auth_error(AuthError("invalid_request", "must use HTTP POST"))
    form = await _form(request)
    authorization = request.headers.get("authorization")
    try:
        body = await run_in_threadpool(
            auth.grant, org, form, authorization=authorization, origin=_origin(request)
        )
    except AuthError as error:
        return _auth_error(error)
    return json_response(body, 200, _NO_STORE)


# -- authorize -------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Login | Salesforce (leadsync emulator)</title></head>
<body>
<h1>Log in to the emulated org</h1>
{error}
<form method="post" action="/services/oauth2/authorize">
<input type="hidden" name="response_type" value="{response_type}">
<input type="hidden" name="client_id" value="{client_id}">
<input type="hidden" name="redirect_uri" value="{redirect_uri}">
<input type="hidden" name="state" value="{state}">
<input type="hidden" name="scope" value="{scope}">
<label>Username <input type="email" name="username" value="{username}"></label>
<label>Password <input type="password" name="password"></label>
<button type="submit">Log In</button>
</form>
</body></html>
"""


def _login_page(params: dict[str, str], message: str = "", status: int = 200) -> Response:
    fields = {
        name: html.escape(params.get(name, ""), quote=True)
        for name in ("response_type", "client_id", "redirect_uri", "state", "scope", "username")
    }
    error = f'<p class="error">{html.escape(message)}</p>' if message else ""
    return HTMLResponse(_PAGE.format(error=error, **fields), status, headers=_NO_STORE)


def _error_page(error: AuthError) -> Response:
    text = f"error={error.error}&error_description={error.description}"
    return HTMLResponse(
        f"<!DOCTYPE html><html><body><p>{html.escape(text)}</p></body></html>",
        400,
        headers=_NO_STORE,
    )


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


async def authorize(request: Request) -> Response:
    org = org_of(request)
    params = await _form(request)
    try:
        client = auth.check_authorize_request(
            org, params.get("response_type"), params.get("client_id"), params.get("redirect_uri")
        )
    except AuthError as error:
        return _error_page(error)
    if request.method == "GET":
        return _login_page(params)
    redirect_uri = params["redirect_uri"]
    try:
        code = await run_in_threadpool(
            auth.authorize,
            org,
            client,
            redirect_uri,
            params.get("username", ""),
            params.get("password", ""),
        )
    except AuthError:
        return _login_page(
            params,
            "Please check your username and password. If you still can't log in, "
            "contact your Salesforce administrator.",
        )
    extra = {"code": code}
    if params.get("state"):
        extra["state"] = params["state"]
    return RedirectResponse(_with_query(redirect_uri, extra), 302, headers=_NO_STORE)


# -- revoke and identity -------------------------------------------------------------------


async def revoke(request: Request) -> Response:
    org = org_of(request)
    params = await _form(request)
    revoked = await run_in_threadpool(auth.revoke, org, params.get("token", ""))
    if not revoked:
        return _auth_error(AuthError("unsupported_token_type", "this token type is not supported"))
    return Response(status_code=200, headers=_NO_STORE)


def _session_of(org: Org, request: Request) -> Session | None:
    try:
        return org.sessions.validate(bearer_token(request.headers))
    except SalesforceError:
        return None


def _bad_token() -> Response:
    return PlainTextResponse("Bad_OAuth_Token", 403)


def _user_row(org: Org, user_id: str) -> dict[str, Any] | None:
    row = (
        org.store.reader()
        .execute(
            'SELECT "Id", "Username", "FirstName", "LastName", "Name", "Email", "IsActive", '
            '"UserType", "TimeZoneSidKey", "LastModifiedDate" FROM "User" WHERE "Id" = ?',
            (user_id,),
        )
        .fetchone()
    )
    if row is None:
        return None
    keys = (
        "Id",
        "Username",
        "FirstName",
        "LastName",
        "Name",
        "Email",
        "IsActive",
        "UserType",
        "TimeZoneSidKey",
        "LastModifiedDate",
    )
    return dict(zip(keys, row, strict=True))


def _urls(org: Org, user_id: str) -> dict[str, str]:
    base = org.instance_url.rstrip("/")
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org.id[:15]}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org.id[:15]}",
        "rest": f"{base}/services/data/v{{version}}/",
        "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
        "query": f"{base}/services/data/v{{version}}/query/",
        "profile": f"{base}/{user_id}",
    }


def identity_document(org: Org, user: dict[str, Any]) -> dict[str, Any]:
    from ..values import format_datetime_json

    return {
        "id": auth.identity_url(org, user["Id"]),
        "asserted_user": True,
        "user_id": user["Id"],
        "organization_id": org.id,
        "username": user["Username"],
        "nick_name": str(user["Username"]).split("@")[0],
        "display_name": user["Name"],
        "email": user["Email"],
        "email_verified": True,
        "first_name": user["FirstName"],
        "last_name": user["LastName"],
        "timezone": user["TimeZoneSidKey"],
        "active": bool(user["IsActive"]),
        "user_type": str(user["UserType"] or "Standard").upper(),
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": format_datetime_json(int(user["LastModifiedDate"])),
        "is_app_installed": True,
        "urls": _urls(org, user["Id"]),
    }


async def identity(request: Request) -> Response:
    org = org_of(request)
    session = _session_of(org, request)
    if session is None:
        return _bad_token()
    if request.path_params["org_id"][:15] != org.id[:15]:
        return PlainTextResponse("Bad_Id", 403)
    user = await run_in_threadpool(_user_row, org, request.path_params["user_id"])
    if user is None:
        return PlainTextResponse("Bad_Id", 404)
    return json_response(identity_document(org, user))


async def userinfo(request: Request) -> Response:
    org = org_of(request)
    session = _session_of(org, request)
    if session is None:
        return _bad_token()
    user = await run_in_threadpool(_user_row, org, session.user_id)
    if user is None:
        return _bad_token()
    document = identity_document(org, user)
    return json_response(
        {
            "sub": document["id"],
            "user_id": user["Id"],
            "organization_id": org.id,
            "preferred_username": user["Username"],
            "nickname": document["nick_name"],
            "name": user["Name"],
            "email": user["Email"],
            "email_verified": True,
            "given_name": user["FirstName"],
            "family_name": user["LastName"],
            "zoneinfo": user["TimeZoneSidKey"],
            "active": document["active"],
            "user_type": document["user_type"],
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "updated_at": document["last_modified_date"],
            "urls": document["urls"],
        }
    )


def routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for suffix in ("", "/"):
        routes += [
            Route(f"/services/oauth2/token{suffix}", token, methods=_ANY_METHOD),
            Route(f"/services/oauth2/authorize{suffix}", authorize, methods=["GET", "POST"]),
            Route(f"/services/oauth2/revoke{suffix}", revoke, methods=["GET", "POST"]),
            Route(f"/services/oauth2/userinfo{suffix}", userinfo, methods=["GET", "POST"]),
            Route(f"/id/{{org_id}}/{{user_id}}{suffix}", identity, methods=["GET", "POST"]),
        ]
    return routes
