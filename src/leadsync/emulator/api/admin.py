"""Emulator-only admin endpoints under `/_emulator/...` (NOT part of the Salesforce API).

They let tests and demos look inside the org and steer it: record counts, the API budget,
injected faults, the clock and sessions. They need no session and are never counted against
the API budget. They exist for a local, trusted emulator only: anyone who can reach the port
can use them, which is why `leadsync emulator` binds 127.0.0.1 by default.

    GET    /_emulator/status            org, counts per object, API usage, faults, clock
    GET    /_emulator/faults            active fault rules
    POST   /_emulator/faults            add a rule (or a list of rules), see `faults.py`
    DELETE /_emulator/faults            remove every rule
    POST   /_emulator/clock             {"freeze": bool, "advance": seconds, "set": epoch}
    POST   /_emulator/limits            {"used": N, "max": N}
    POST   /_emulator/sessions/expire   expire every access token
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..app import json_response, org_of
from ..errors import SalesforceError
from ..faults import FaultSpecError
from ..org import Org
from ..store import quote
from ..values import MAX_EPOCH_SECONDS, format_datetime_json

PREFIX = "/_emulator"
# Beyond 2**53 a JSON number is no longer a whole number exactly (and far beyond any budget).
MAX_NUMBER = float(2**53)


def bad_request(message: str) -> SalesforceError:
    return SalesforceError("INVALID_INPUT", message, 400)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SalesforceError(
            "JSON_PARSER_ERROR", f"The request body is not JSON: {exc}", 400
        ) from exc


async def _json_object(request: Request) -> dict[str, Any]:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _number(
    body: dict[str, Any], key: str, *, minimum: float | None = None, maximum: float = MAX_NUMBER
) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(f"'{key}' must be a number.")
    if minimum is not None and value < minimum:
        raise bad_request(f"'{key}' must be at least {minimum:g}.")
    if abs(value) > maximum:
        raise bad_request(f"'{key}' is out of range (at most {maximum:.0f} either way).")
    return float(value)


def record_counts(org: Org) -> dict[str, int]:
    conn = org.store.reader()
    return {
        obj.name: int(conn.execute(f"SELECT COUNT(*) FROM {quote(obj.name)}").fetchone()[0])
        for obj in org.schema
    }


def clock_state(org: Org) -> dict[str, Any]:
    now = org.clock.now()
    return {"now": now, "iso": format_datetime_json(now), "frozen": org.clock.frozen}


async def status(request: Request) -> Response:
    org = org_of(request)
    counts = await run_in_threadpool(record_counts, org)
    return json_response(
        {
            "name": org.definition.name,
            "organizationId": org.id,
            "instanceUrl": org.instance_url,
            "seed": org.store.meta_get("seed"),
            "records": counts,
            "apiUsage": {"used": org.limits.used, "max": org.limits.maximum},
            "faults": {"active": len(org.faults.rules()), "injected": org.faults.total_injected},
            "sessionLifetimeSeconds": org.sessions.lifetime_seconds,
            "clock": clock_state(org),
        }
    )


async def list_faults(request: Request) -> Response:
    org = org_of(request)
    return json_response({"rules": org.faults.rules(), "injected": org.faults.total_injected})


async def add_faults(request: Request) -> Response:
    org = org_of(request)
    body = await _json_body(request)
    specs = body if isinstance(body, list) else [body]
    if not specs or not all(isinstance(spec, dict) for spec in specs):
        raise bad_request("Send a fault rule object, or a list of them.")
    added = []
    for spec in specs:
        try:
            added.append(org.faults.add(spec).as_dict())
        except (FaultSpecError, TypeError, ValueError) as exc:
            raise bad_request(f"Bad fault rule: {exc}") from exc
    return json_response(added if isinstance(body, list) else added[0], 201)


async def clear_faults(request: Request) -> Response:
    org = org_of(request)
    removed = len(org.faults.rules())
    org.faults.clear()
    return json_response({"removed": removed})


async def set_clock(request: Request) -> Response:
    org = org_of(request)
    body = await _json_object(request)
    freeze = body.get("freeze")
    if freeze is not None and not isinstance(freeze, bool):
        raise bad_request("'freeze' must be true or false.")
    advance = _number(body, "advance")
    moment = _number(body, "set", minimum=0, maximum=MAX_EPOCH_SECONDS)
    clock = org.clock
    # A clock past 9999-12-31 could stamp no datetime; refuse before changing anything.
    landing = (clock.now_float() if moment is None else moment) + (advance or 0)
    if not 0 <= landing <= MAX_EPOCH_SECONDS:
        raise bad_request("The clock must stay between 1970-01-01 and 9999-12-31.")
    if freeze is True:
        clock.freeze()
    if moment is not None:
        # Jump to the moment; a running clock keeps running from there.
        clock.advance(moment - clock.now_float())
    if advance is not None:
        clock.advance(advance)
    if freeze is False:
        clock.unfreeze()
    return json_response(clock_state(org))


async def set_limits(request: Request) -> Response:
    org = org_of(request)
    body = await _json_object(request)
    used = _number(body, "used", minimum=0)
    maximum = _number(body, "max", minimum=1)
    for key, value in (("used", used), ("max", maximum)):
        if value is not None and value != int(value):
            raise bad_request(f"'{key}' must be a whole number.")
    if maximum is not None:
        org.limits.maximum = int(maximum)
    if used is not None:
        org.limits.set_used(int(used))
    return json_response({"used": org.limits.used, "max": org.limits.maximum})


async def expire_sessions(request: Request) -> Response:
    org = org_of(request)
    return json_response({"expired": org.sessions.expire_all()})


def routes() -> list[BaseRoute]:
    table = [
        ("/status", status, ["GET"]),
        ("/faults", list_faults, ["GET"]),
        ("/faults", add_faults, ["POST"]),
        ("/faults", clear_faults, ["DELETE"]),
        ("/clock", set_clock, ["POST"]),
        ("/limits", set_limits, ["POST"]),
        ("/sessions/expire", expire_sessions, ["POST"]),
    ]
    return [
        Route(PREFIX + path + suffix, endpoint, methods=methods)
        for path, endpoint, methods in table
        for suffix in ("", "/")
    ]
