"""sObject rows over REST: create, read, update, delete, upsert and get by external id, and
the replication resources `updated` and `deleted`.

Global describe, `GET /sobjects/{obj}` and `/describe` live in `describe.py`, registered first.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import serialize, writes
from ..app import ApiContext, api_context, json_response
from ..errors import SalesforceError, json_parser_error, not_found
from ..ids import normalize_id
from ..schema import FieldDef, SObjectDef
from ..store import quote
from ..validation import entity_is_deleted
from ..values import format_datetime_json, parse_datetime, to_db

# Beyond this many ids `updated` refuses to answer; tests lower it.
UPDATED_ID_LIMIT = 600_000
UPDATED_MAX_AGE = 30 * 86400
DELETED_RETENTION = 15 * 86400
# Versions before 46.0 answer an upsert that updated with 204 and no body.
_UPSERT_BODY_SINCE = 46.0
_MAX_MATCHES = 200
_SPACE_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


# -- helpers -----------------------------------------------------------------------------------


def _object(ctx: ApiContext, name: str) -> SObjectDef:
    obj = ctx.org.schema.get(name)
    if obj is None or not ctx.session.profile.can_see_object(obj.name):
        raise not_found()
    return obj


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise json_parser_error(
            "The HTTP entity body is required, but this request has no entity body."
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise json_parser_error(f"Unexpected character in JSON body: {exc}") from None
    if not isinstance(data, dict):
        token = "START_ARRAY" if isinstance(data, list) else "VALUE"
        raise json_parser_error(
            f"Can not deserialize SObject out of {token} token at [line:1, column:1]"
        )
    return data


def _record_id(ctx: ApiContext, obj: SObjectDef, raw: str) -> str:
    """The canonical id in a path, or the platform's error for a bad one."""
    record_id = normalize_id(raw)
    if record_id is None:
        # A segment that is not an id is read as an external-id field name.
        raise writes.external_field_not_found(raw)
    if record_id[:3] != obj.key_prefix:
        raise SalesforceError(
            "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}", fields=["Id"]
        )
    return record_id


def _live_row(ctx: ApiContext, obj: SObjectDef, record_id: str) -> dict[str, Any]:
    row = ctx.org.store.fetch_one(ctx.org.store.reader(), obj, record_id)
    if row is None:
        raise not_found()
    if row["IsDeleted"]:
        raise entity_is_deleted()
    return row


def _failure_response(result: writes.SaveResult) -> Response:
    status = max((e.status for e in result.errors), default=400)
    body = [e.as_rest()[0] for e in result.errors]
    return json_response(body, status if status in (400, 404) else 400)


def _record_response(
    ctx: ApiContext, request: Request, obj: SObjectDef, row: dict[str, Any]
) -> Response:
    fields = request.query_params.get("fields")
    if fields:
        cols = serialize.columns(obj, ctx.session.profile, fields.split(","))
    else:
        cols = serialize.cached_columns(ctx.org.extensions, obj, ctx.session.profile)
    return json_response(serialize.record(obj, row, ctx.base, cols))


def _url(ctx: ApiContext, obj: SObjectDef, record_id: str) -> str:
    return f"{ctx.base}/sobjects/{obj.name}/{record_id}"


# -- create, read, update, delete --------------------------------------------------------------


async def create_record(request: Request) -> Response:
    ctx = api_context(request)
    obj = _object(ctx, request.path_params["obj"])
    body = await _json_body(request)
    [result] = await run_in_threadpool(
        partial(writes.create, auto_assign=ctx.auto_assign),
        ctx.org,
        ctx.session,
        [(obj.name, body)],
    )
    if not result.success:
        return _failure_response(result)
    return json_response({"id": result.id, "success": True, "errors": []}, 201)


async def record_resource(request: Request) -> Response:
    ctx = api_context(request)
    obj = _object(ctx, request.path_params["obj"])
    segment = request.path_params["record_id"]
    if request.method == "POST":
        if segment.lower() != "id":
            raise SalesforceError(
                "METHOD_NOT_ALLOWED",
                "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE,HEAD",
                405,
            )
        return await _upsert(ctx, request, obj, obj.fields["id"], None)
    record_id = _record_id(ctx, obj, segment)
    if request.method in ("GET", "HEAD"):
        row = await run_in_threadpool(_live_row, ctx, obj, record_id)
        return _record_response(ctx, request, obj, row)
    await run_in_threadpool(_live_row, ctx, obj, record_id)
    if request.method == "DELETE":
        [result] = await run_in_threadpool(writes.delete, ctx.org, ctx.session, [record_id])
    else:
        body = await _json_body(request)
        [result] = await run_in_threadpool(
            writes.update, ctx.org, ctx.session, [(obj.name, record_id, body)]
        )
    if not result.success:
        return _failure_response(result)
    return Response(status_code=204)


# -- external ids ------------------------------------------------------------------------------


def _external_field(ctx: ApiContext, obj: SObjectDef, name: str) -> FieldDef:
    definition = obj.field(name)
    if (
        definition is None
        or not (definition.external_id or definition.name == "Id")
        or not ctx.session.profile.can_see(obj.name, definition.name)
    ):
        raise writes.external_field_not_found(name)
    return definition


def _matches(ctx: ApiContext, obj: SObjectDef, definition: FieldDef, value: Any) -> list[str]:
    rows = ctx.org.store.reader().execute(
        f'SELECT "Id" FROM {quote(obj.name)} WHERE {quote(definition.name)} = ? '
        f'AND "IsDeleted" = 0 ORDER BY "Id" LIMIT {_MAX_MATCHES}',
        (value,),
    )
    return [row[0] for row in rows]


def _storage_key(definition: FieldDef, raw: str) -> Any:
    try:
        return to_db(definition, raw)
    except SalesforceError:
        return None


async def by_external_id(request: Request) -> Response:
    ctx = api_context(request)
    obj = _object(ctx, request.path_params["obj"])
    definition = _external_field(ctx, obj, request.path_params["field"])
    value = request.path_params["value"].rstrip("/")
    if request.method in ("PATCH", "POST"):
        return await _upsert(ctx, request, obj, definition, value)
    if definition.name == "Id":
        record_id = _record_id(ctx, obj, value)
        matches = [record_id] if await run_in_threadpool(_live_row, ctx, obj, record_id) else []
    else:
        key = _storage_key(definition, value)
        matches = (
            [] if key is None else await run_in_threadpool(_matches, ctx, obj, definition, key)
        )
    if not matches:
        raise not_found()
    if len(matches) > 1:
        return json_response([_url(ctx, obj, m) for m in matches], 300)
    if request.method == "DELETE":
        [result] = await run_in_threadpool(writes.delete, ctx.org, ctx.session, matches)
        return Response(status_code=204) if result.success else _failure_response(result)
    row = await run_in_threadpool(_live_row, ctx, obj, matches[0])
    return _record_response(ctx, request, obj, row)


async def _upsert(
    ctx: ApiContext, request: Request, obj: SObjectDef, definition: FieldDef, value: str | None
) -> Response:
    body = await _json_body(request)
    record = dict(body)
    if value is not None:
        for key, given in body.items():
            if key.lower() == definition.name.lower() and str(given).lower() != value.lower():
                raise SalesforceError(
                    "INVALID_FIELD",
                    f"The value of {definition.name} in the request body does not match "
                    "the value in the URL",
                    fields=[definition.name],
                )
            if key.lower() == definition.name.lower():
                del record[key]
        record[definition.name] = value
    if request.query_params.get("updateOnly", "").lower() == "true":
        key = _storage_key(definition, value or "")
        found = [] if key is None else await run_in_threadpool(_matches, ctx, obj, definition, key)
        if not found:
            raise not_found()
    [result] = await run_in_threadpool(
        partial(writes.upsert, auto_assign=ctx.auto_assign),
        ctx.org,
        ctx.session,
        obj.name,
        definition.name,
        [record],
    )
    if not result.success:
        if result.errors[0].code == "DUPLICATE_EXTERNAL_ID" and value is not None:
            key = _storage_key(definition, value)
            found = await run_in_threadpool(_matches, ctx, obj, definition, key)
            return json_response([_url(ctx, obj, m) for m in found], 300)
        return _failure_response(result)
    body_out: dict[str, Any] = {
        "id": result.id,
        "success": True,
        "errors": [],
        "created": bool(result.created),
    }
    if result.created:
        return json_response(body_out, 201)
    if float(ctx.version) < _UPSERT_BODY_SINCE:
        return Response(status_code=204)
    return json_response(body_out, 200)


# -- replication -------------------------------------------------------------------------------


def _replication_date(request: Request, name: str) -> int:
    text = request.query_params.get(name)
    if not text:
        raise SalesforceError("MISSING_ARGUMENT", f"{name} not specified")
    # An unencoded '+' in a query string arrives as a space.
    seconds = parse_datetime(_SPACE_OFFSET.sub(r"+\1", text.strip()))
    if seconds is None:
        raise SalesforceError("INVALID_REPLICATION_DATE", f"{name}: invalid date: {text}")
    return seconds - seconds % 60


def _window(ctx: ApiContext, request: Request) -> tuple[int, int, int]:
    """(start, latest date covered, now) for an updated/deleted call, all minute-aligned."""
    start = _replication_date(request, "start")
    end = _replication_date(request, "end")
    now = ctx.org.clock.now()
    if end - start < 60:
        raise SalesforceError(
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        )
    if start < now - UPDATED_MAX_AGE:
        raise SalesforceError(
            "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago"
        )
    return start, min(end, now - now % 60), now


def _updated_ids(ctx: ApiContext, obj: SObjectDef, start: int, latest: int) -> list[str]:
    conn = ctx.org.store.reader()
    where = (
        f'FROM {quote(obj.name)} WHERE "SystemModstamp" >= ? AND "SystemModstamp" < ? '
        'AND "IsDeleted" = 0'
    )
    [count] = conn.execute(f"SELECT COUNT(*) {where}", (start, latest)).fetchone()
    if count > UPDATED_ID_LIMIT:
        raise SalesforceError(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {UPDATED_ID_LIMIT} records into "
            "this call",
        )
    return [
        row[0]
        for row in conn.execute(
            f'SELECT "Id" {where} ORDER BY "SystemModstamp", "Id"', (start, latest)
        )
    ]


async def updated(request: Request) -> Response:
    ctx = api_context(request)
    obj = _object(ctx, request.path_params["obj"])
    start, latest, _ = _window(ctx, request)
    ids = await run_in_threadpool(_updated_ids, ctx, obj, start, latest)
    return json_response({"ids": ids, "latestDateCovered": format_datetime_json(latest)})


def _deleted_rows(
    ctx: ApiContext, obj: SObjectDef, start: int, latest: int
) -> list[dict[str, str]]:
    rows = ctx.org.store.reader().execute(
        f'SELECT "Id", "SystemModstamp" FROM {quote(obj.name)} WHERE "IsDeleted" = 1 '
        'AND "SystemModstamp" >= ? AND "SystemModstamp" < ? ORDER BY "SystemModstamp", "Id"',
        (start, latest),
    )
    return [{"id": row[0], "deletedDate": format_datetime_json(row[1])} for row in rows]


async def deleted(request: Request) -> Response:
    ctx = api_context(request)
    obj = _object(ctx, request.path_params["obj"])
    start, latest, now = _window(ctx, request)
    # The recycle bin keeps 15 days; older deletions are gone, and the answer says so.
    earliest = now - now % 60 - DELETED_RETENTION
    records = await run_in_threadpool(_deleted_rows, ctx, obj, max(start, earliest), latest)
    return json_response(
        {
            "deletedRecords": records,
            "earliestDateAvailable": format_datetime_json(earliest),
            "latestDateCovered": format_datetime_json(latest),
        }
    )


def routes() -> list[BaseRoute]:
    base = "/services/data/v{version}/sobjects/{obj}"
    rows = ["GET", "PATCH", "DELETE", "POST"]
    table: list[tuple[str, Any, list[str]]] = [
        (base, create_record, ["POST"]),
        (base + "/updated", updated, ["GET"]),
        (base + "/deleted", deleted, ["GET"]),
        (base + "/{record_id}", record_resource, rows),
    ]
    found: list[BaseRoute] = []
    for path, endpoint, methods in table:
        found.append(Route(path, endpoint, methods=methods))
        found.append(Route(path + "/", endpoint, methods=methods))
    # `value` may itself hold encoded slashes; a trailing slash is stripped by the handler.
    found.append(Route(base + "/{field}/{value:path}", by_external_id, methods=rows))
    return found
