"""`/composite` with `allOrNone: true`: every sub-request in one store transaction.

The sub-requests run here, in the caller's worker thread, against the writer connection,
rather than through the router: route handlers hop to other threads, which could neither join
this thread's transaction nor see its uncommitted rows. So creates, updates, upserts, deletes,
row reads, queries, collections and describes are served directly through `writes`, `query`
and `describe`, and the first failing sub-request rolls all of them back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from .. import describe, serialize, writes
from ..app import ApiContext
from ..errors import SalesforceError, not_found
from . import composite as c

_QUERY_PAGE = 2000


class _Rollback(Exception):
    """Raised inside the transaction to undo it."""


def run_atomic(ctx: ApiContext, subs: list[c.SubRequest]) -> list[c.SubResult]:
    """Run `subs` in order in one transaction; on the first failure undo everything and
    answer PROCESSING_HALTED for every other sub-request."""
    results: list[c.SubResult] = []
    failed_at: int | None = None
    try:
        with ctx.org.store.write() as conn:
            done: dict[str, c.SubResult] = {}
            for index, sub in enumerate(subs):
                result = _one(ctx, conn, sub, done)
                done[sub.reference_id] = result
                results.append(result)
                if not result.ok:
                    failed_at = index
                    raise _Rollback
    except _Rollback:
        pass
    if failed_at is None:
        return results
    return [
        results[failed_at] if i == failed_at else c.rolled_back_result() for i in range(len(subs))
    ]


def _one(
    ctx: ApiContext, conn: sqlite3.Connection, sub: c.SubRequest, done: Mapping[str, c.SubResult]
) -> c.SubResult:
    try:
        url, body = c.resolve(sub.url, done), c.resolve(sub.body, done)
    except c.Unresolved as error:
        return c.unresolved_result(error)
    try:
        version, path, query = c.sub_url(url)
        sub_ctx = ApiContext(ctx.org, ctx.session, version)
        return _route(sub_ctx, conn, sub.method, path, query, body)
    except SalesforceError as error:
        return c.error_result(error)


Handler = Callable[
    [ApiContext, sqlite3.Connection, str, list[str], dict[str, str], Any], c.SubResult
]


def _route(
    ctx: ApiContext, conn: sqlite3.Connection, method: str, path: str, query: str, body: Any
) -> c.SubResult:
    parts = [p for p in path.split("/") if p]
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    head = parts[0] if parts else ""
    handler: Handler | None = {
        "sobjects": _sobjects,
        "query": _query,
        "queryAll": _query,
        "composite": _collections,
    }.get(head)
    if handler is None:
        raise _unsupported(method, path)
    return handler(ctx, conn, method, parts, params, body)


def _unsupported(method: str, path: str) -> SalesforceError:
    return SalesforceError(
        "INVALID_INPUT",
        f"{method} {path or '/'} is not supported in a composite request with allOrNone",
    )


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> c.SubResult:
    return c.SubResult(status, headers or {}, data)


# -- /sobjects/... ----------------------------------------------------------------------------


def _sobjects(
    ctx: ApiContext,
    conn: sqlite3.Connection,
    method: str,
    parts: list[str],
    params: dict[str, str],
    body: Any,
) -> c.SubResult:
    profile = ctx.session.profile
    if len(parts) == 1 and method == "GET":
        return _json(describe.global_describe(ctx.org, profile, ctx.version).data)
    if len(parts) == 2 and method == "GET":
        return _json(describe.basic_info(ctx.org, profile, ctx.version, parts[1]).data)
    if len(parts) == 2 and method == "POST":
        return _create(ctx, parts[1], body)
    if len(parts) == 3 and parts[2].lower() == "describe" and method == "GET":
        return _json(describe.object_describe(ctx.org, profile, ctx.version, parts[1]).data)
    if len(parts) == 3:
        return _row(ctx, conn, method, parts[1], parts[2], params, body)
    if len(parts) == 4 and method == "PATCH":
        return _upsert(ctx, parts[1], parts[2], parts[3], body)
    raise _unsupported(method, "/".join(parts))


def _failed(result: writes.SaveResult) -> c.SubResult:
    status = result.errors[0].status if result.errors else 400
    return c.SubResult(status, {}, [e.as_rest()[0] for e in result.errors])


def _location(ctx: ApiContext, obj: str, record_id: str | None) -> dict[str, str]:
    return {"Location": f"{ctx.base}/sobjects/{obj}/{record_id}"}


def _fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
    return {k: v for k, v in body.items() if k != "attributes"}


def _create(ctx: ApiContext, name: str, body: Any) -> c.SubResult:
    obj = describe.visible_object(ctx.org, ctx.session.profile, name)
    [result] = writes.create(ctx.org, ctx.session, [(obj.name, _fields(body))])
    if not result.success:
        return _failed(result)
    body = writes.SaveResult(result.id, True, []).as_json()
    return _json(body, 201, _location(ctx, obj.name, result.id))


def _row(
    ctx: ApiContext,
    conn: sqlite3.Connection,
    method: str,
    name: str,
    record_id: str,
    params: dict[str, str],
    body: Any,
) -> c.SubResult:
    obj = describe.visible_object(ctx.org, ctx.session.profile, name)
    if method == "GET":
        wanted = params.get("fields")
        columns = serialize.columns(obj, ctx.session.profile, wanted.split(",") if wanted else None)
        [found] = c.visible_rows(ctx, obj, [record_id], columns, conn)
        if found is None:
            raise not_found()
        return _json(found)
    if method == "PATCH":
        [result] = writes.update(ctx.org, ctx.session, [(obj.name, record_id, _fields(body))])
    elif method == "DELETE":
        [result] = writes.delete(ctx.org, ctx.session, [record_id])
    else:
        raise _unsupported(method, f"sobjects/{name}/{record_id}")
    return c.SubResult(204, {}, None) if result.success else _failed(result)


def _upsert(ctx: ApiContext, name: str, field_name: str, value: str, body: Any) -> c.SubResult:
    obj = describe.visible_object(ctx.org, ctx.session.profile, name)
    record = _fields(body)
    record[field_name] = value
    [result] = writes.upsert(ctx.org, ctx.session, obj.name, field_name, [record])
    if not result.success:
        return _failed(result)
    status = 201 if result.created else 200
    headers = _location(ctx, obj.name, result.id) if result.created else {}
    return _json(result.as_json(), status, headers)


# -- /query, /queryAll ------------------------------------------------------------------------


def _query(
    ctx: ApiContext,
    conn: sqlite3.Connection,
    method: str,
    parts: list[str],
    params: dict[str, str],
    body: Any,
) -> c.SubResult:
    from ..query import compile_query

    if method != "GET" or len(parts) != 1 or "q" not in params:
        raise _unsupported(method, "/".join(parts))
    compiled = compile_query(
        ctx.org, ctx.session.profile, params["q"], include_deleted=parts[0] == "queryAll"
    )
    total = compiled.count(conn)
    records: list[dict[str, Any]] = []
    for record in compiled.iter_json_records(conn, ctx.version):
        if len(records) == _QUERY_PAGE:
            break
        records.append(record)
    # Paging is not offered inside a transaction: the locator would outlive it.
    return _json({"totalSize": total, "done": total <= len(records), "records": records})


# -- /composite/sobjects ----------------------------------------------------------------------


def _collections(
    ctx: ApiContext,
    conn: sqlite3.Connection,
    method: str,
    parts: list[str],
    params: dict[str, str],
    body: Any,
) -> c.SubResult:
    if len(parts) < 2 or parts[1] != "sobjects":
        raise _unsupported(method, "/".join(parts))
    rest = parts[2:]
    if not rest and method == "POST":
        return _json(c.collection_create(ctx, body))
    if not rest and method == "PATCH":
        return _json(c.collection_update(ctx, body))
    if not rest and method == "DELETE":
        return _json(c.collection_delete(ctx, params))
    if len(rest) == 1 and method == "GET":
        return _json(
            c.collection_retrieve(ctx, rest[0], params.get("ids", ""), params.get("fields"), conn)
        )
    if len(rest) == 1 and method == "POST" and isinstance(body, dict):
        return _json(c.collection_retrieve(ctx, rest[0], body.get("ids"), body.get("fields"), conn))
    if len(rest) == 2 and method == "PATCH":
        return _json(c.collection_upsert(ctx, rest[0], rest[1], body))
    raise _unsupported(method, "/".join(parts))
