"""REST query resources: `/query`, `/queryAll` and their `nextRecordsUrl` pages."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..app import ApiContext, api_context, json_response
from ..query import OpenQuery, compile_query, invalid_locator, locators

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
_BATCH_OPTION = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(request: Request, default: int = DEFAULT_BATCH_SIZE) -> int:
    """`Sforce-Query-Options: batchSize=N`, kept within Salesforce's 200..2000."""
    match = _BATCH_OPTION.search(request.headers.get("sforce-query-options", ""))
    if match is None:
        return default
    return max(MIN_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, int(match.group(1)[:6])))


def _resource(include_deleted: bool) -> str:
    return "queryAll" if include_deleted else "query"


def first_page(ctx: ApiContext, soql: str, include_deleted: bool, size: int) -> dict[str, Any]:
    org = ctx.org
    compiled = compile_query(org, ctx.session.profile, soql, include_deleted=include_deleted)
    if compiled.count_only:
        total = compiled.count(org.store.reader())
        return {"totalSize": total, "done": True, "records": []}
    conn = org.store.snapshot()
    try:
        # One read transaction: the count and every page see the same snapshot.
        conn.execute("BEGIN")
        total = compiled.count(conn)
        cursor = compiled.execute(conn)
        rows = cursor.fetchmany(size)
    except BaseException:
        conn.close()
        raise
    try:
        records = compiled.build_records(conn, rows, ctx.version)
    except BaseException:
        conn.close()
        raise
    if len(rows) < size or len(rows) >= total:
        conn.close()
        return {"totalSize": total, "done": True, "records": records}
    open_query = OpenQuery(
        compiled=compiled,
        conn=conn,
        cursor=cursor,
        total=total,
        position=len(rows),
        batch_size=size,
        include_deleted=include_deleted,
        last_used=org.clock.now_float(),
    )
    locator = locators(org).register(open_query)
    return {
        "totalSize": total,
        "done": False,
        "nextRecordsUrl": f"{ctx.base}/{_resource(include_deleted)}/{locator}-{len(rows)}",
        "records": records,
    }


def next_page(ctx: ApiContext, token: str, size: int | None) -> dict[str, Any]:
    locator, _, offset_text = token.rpartition("-")
    if not locator or not offset_text.isdigit() or len(offset_text) > 12:
        raise invalid_locator()
    registry = locators(ctx.org)
    open_query = registry.get(locator)
    if open_query is None:
        raise invalid_locator()
    with open_query.lock:
        if open_query.closed:
            raise invalid_locator()
        offset = int(offset_text)
        page = size or open_query.batch_size
        rows = open_query.fetch(offset, page)
        position = open_query.position
        total = open_query.total
        records = open_query.compiled.build_records(open_query.conn, rows, ctx.version)
    done = len(rows) < page or position >= total
    body: dict[str, Any] = {"totalSize": total, "done": done}
    if done:
        registry.discard(locator)
    else:
        resource = _resource(open_query.include_deleted)
        body["nextRecordsUrl"] = f"{ctx.base}/{resource}/{locator}-{position}"
    body["records"] = records
    return body


async def _query(request: Request, include_deleted: bool) -> Response:
    ctx = api_context(request)
    soql = request.query_params.get("q", "")
    size = batch_size(request)
    body = await run_in_threadpool(first_page, ctx, soql, include_deleted, size)
    return json_response(body)


async def query(request: Request) -> Response:
    return await _query(request, include_deleted=False)


async def query_all(request: Request) -> Response:
    return await _query(request, include_deleted=True)


async def query_more(request: Request) -> Response:
    # Any `q` parameter is ignored here: tap-salesforce resends it with every page.
    ctx = api_context(request)
    size = batch_size(request, 0) if "sforce-query-options" in request.headers else None
    body = await run_in_threadpool(next_page, ctx, request.path_params["locator"], size or None)
    return json_response(body)


def routes() -> list[BaseRoute]:
    base = "/services/data/v{version}"
    return [
        Route(f"{base}/query", query, methods=["GET"]),
        Route(f"{base}/query/", query, methods=["GET"]),
        Route(f"{base}/queryAll", query_all, methods=["GET"]),
        Route(f"{base}/queryAll/", query_all, methods=["GET"]),
        Route(f"{base}/query/{{locator}}", query_more, methods=["GET"]),
        Route(f"{base}/queryAll/{{locator}}", query_more, methods=["GET"]),
    ]
