"""The ASGI app: routes, the API gate (auth, budget, faults, limit header) and error envelopes.

The gate wraps the router. Composite calls dispatch their sub-requests to the router directly,
so the gate counts a composite call once; `/composite/batch` counts its further sub-requests
itself (`api/composite.py`), as a real org counts each of them.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import SalesforceError, not_found
from .org import API_VERSIONS, Org
from .sessions import Session

log = logging.getLogger("leadsync.emulator")

_API_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d+)(?:/|$)")
_UNVERSIONED = re.compile(r"^/services/data/.")
CONTEXT_KEY = "leadsync.ctx"


@dataclass(frozen=True)
class ApiContext:
    """Who is calling, on which API version, against which org."""

    org: Org
    session: Session
    version: str
    # Sforce-Auto-Assign: the default lead assignment rule runs on creates unless FALSE.
    auto_assign: bool = True

    @property
    def base(self) -> str:
        return f"/services/data/v{self.version}"


def _auto_assign(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"sforce-auto-assign":
            return value.strip().lower() not in (b"false", b"0")
    return True


def api_context(request: Request) -> ApiContext:
    ctx = request.scope.get(CONTEXT_KEY)
    if not isinstance(ctx, ApiContext):
        raise SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", 401)
    return ctx


def org_of(request: Request) -> Org:
    org = request.scope["app_org"]
    assert isinstance(org, Org)
    return org


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data), status_code=status, headers=headers, media_type="application/json"
    )


def error_response(error: SalesforceError) -> Response:
    return json_response(error.as_rest(), error.status)


def bearer_token(headers: MutableMapping[str, str] | Any) -> str | None:
    value = headers.get("authorization") or ""
    for scheme in ("Bearer ", "OAuth "):
        if value[: len(scheme)].lower() == scheme.lower():
            return str(value[len(scheme) :].strip())
    session = headers.get("x-sfdc-session")
    return str(session) if session else None


class Gate:
    """Authenticates `/services/data/vNN.N/...` calls, counts them, injects faults, stamps
    `Sforce-Limit-Info`, and turns errors into Salesforce's envelopes."""

    def __init__(self, org: Org, router: ASGIApp) -> None:
        self.org = org
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.router(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        scope["app_org"] = self.org
        match = _API_PATH.match(scope["path"])
        if match is None and _UNVERSIONED.match(scope["path"]):
            # `/services/data/v62/...`, `/services/data/foo`: no such version, no such resource.
            await self._send(error_response(not_found()), scope, receive, send, False)
            return
        if match is None:
            await self._guarded(scope, receive, send, limit_header=False)
            return
        version = match.group("version")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            if version not in API_VERSIONS:
                raise not_found()
            session = self.org.sessions.validate(bearer_token(headers))
            fault = self.org.faults.take(scope["method"], scope["path"])
            if fault is not None:
                await self._apply_fault(fault.kind, fault.delay, send)
                if fault.kind != "slow":
                    return
            self.org.limits.consume()
        except SalesforceError as error:
            await self._send(error_response(error), scope, receive, send, limit_header=True)
            return
        scope[CONTEXT_KEY] = ApiContext(self.org, session, version, _auto_assign(scope))
        await self._guarded(scope, receive, send, limit_header=True)

    async def _apply_fault(self, kind: str, delay: float, send: Send) -> None:
        if kind == "slow":
            await asyncio.sleep(delay)
            return
        if kind == "timeout":
            # No answer for `delay` seconds (a client's read timeout fires first), then the
            # connection goes away like a dropped one.
            await asyncio.sleep(delay)
        if kind in ("drop", "timeout"):
            # Start a response and abort it mid-body: a server would otherwise turn an
            # exception before the response into a 500, which is not a dropped connection.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1000")],
                }
            )
            await send({"type": "http.response.body", "body": b"[", "more_body": True})
            raise DroppedConnection(f"fault injection: connection dropped ({kind})")
        raise fault_error(kind)

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, *, limit_header: bool
    ) -> None:
        started = False

        async def tracking_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if limit_header:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"sforce-limit-info", self.org.limits.header().encode()),
                    ]
            await send(message)

        try:
            await self.router(scope, receive, tracking_send)
        except SalesforceError as error:
            if started:
                raise
            await self._send(error_response(error), scope, receive, send, limit_header)
        except Exception:
            if started:
                raise
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            failure = SalesforceError(
                "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please try again.", 500
            )
            await self._send(error_response(failure), scope, receive, send, limit_header)

    async def _send(
        self, response: Response, scope: Scope, receive: Receive, send: Send, limit_header: bool
    ) -> None:
        if limit_header:
            response.headers["Sforce-Limit-Info"] = self.org.limits.header()
        await response(scope, receive, send)


class DroppedConnection(httpx.RemoteProtocolError, ConnectionAbortedError):
    """Raised out of the app to drop the connection (fault kinds drop and timeout).

    Over a socket the server closes it mid-body and the client sees a protocol error. In
    process (`httpx.ASGITransport`, Starlette's TestClient) the app's exception reaches the
    client as is, so it is an httpx transport error too: client code handles both alike."""


def fault_error(kind: str) -> SalesforceError:
    if kind == "unavailable":
        return SalesforceError("SERVER_UNAVAILABLE", "Server temporarily unavailable.", 503)
    if kind == "lock":
        return SalesforceError(
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record or 1 records",
            400,
        )
    if kind == "limit":
        return SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 403)
    if kind == "invalid_session":
        return SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", 401)
    raise ValueError(kind)


async def dispatch_internal(
    request: Request, method: str, url: str, body: Any | None
) -> tuple[int, dict[str, str], Any]:
    """Run one sub-request of a composite call through the router, without the gate.

    `url` is a path such as `/services/data/v62.0/sobjects/Lead` (query string allowed).
    Returns (status, headers, parsed JSON body or None).
    """
    router: ASGIApp = request.scope["app_router"]
    path, _, query = url.partition("?")
    payload = b"" if body is None else orjson.dumps(body)
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": request.scope.get("scheme", "http"),
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
        "server": request.scope.get("server"),
        "client": request.scope.get("client"),
        "app_org": request.scope["app_org"],
        "app_router": router,
        CONTEXT_KEY: request.scope[CONTEXT_KEY],
    }
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    status = 500
    headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for key, value in message.get("headers", []):
                headers[key.decode("latin-1")] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await router(scope, receive, send)
    except SalesforceError as error:
        return error.status, {}, error.as_rest()
    raw = b"".join(chunks)
    parsed = orjson.loads(raw) if raw and "json" in headers.get("content-type", "") else None
    return status, headers, parsed


_METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def routing_error(scope: Scope, exc: HTTPException, routes: list[BaseRoute]) -> SalesforceError:
    """The REST envelope of a request no route takes (unknown resource or method)."""
    if exc.status_code == 405:
        # Several routes may share the path (describe GET, create POST): name all their methods.
        methods = {
            method
            for route in routes
            if isinstance(route, Route) and route.matches(scope)[0] == Match.PARTIAL
            for method in route.methods or ()
        }
        allowed = ",".join(m for m in _METHOD_ORDER if m in methods)
        return SalesforceError(
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{scope['method']}' not allowed. Allowed are {allowed}",
            405,
        )
    if exc.status_code == 404:
        return not_found()
    return SalesforceError("INVALID_INPUT", exc.detail, exc.status_code)


RouteFactory = Callable[[], list[BaseRoute]]


def create_app(org: Org) -> ASGIApp:
    """The emulator as an ASGI app (use with uvicorn or `httpx.ASGITransport`)."""
    from .api import all_routes

    router = Router(routes=all_routes())

    async def router_with_self(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app_router"] = router_with_self
        # With "app" in the scope, Starlette raises HTTPException for an unknown path or
        # method instead of answering in plain text, so the REST API can use its envelope.
        scope["app"] = router_with_self
        try:
            await router(scope, receive, send)
        except HTTPException as exc:
            if not scope["path"].startswith("/services/data"):
                await PlainTextResponse(exc.detail, exc.status_code, exc.headers)(
                    scope, receive, send
                )
                return
            raise routing_error(scope, exc, router.routes) from None

    return Gate(org, router_with_self)


Endpoint = Callable[[Request], Awaitable[Response]]
