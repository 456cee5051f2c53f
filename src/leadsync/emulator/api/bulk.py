"""Bulk API 2.0 routes: `/services/data/vNN.N/jobs/query...` and `/jobs/ingest...`.

Every call passes the gate, so each one counts as one API request. Paths take an optional
trailing slash; a method a resource does not support answers 405 in the REST envelope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from .. import bulk, bulk_ingest, bulk_query
from ..app import api_context, json_response
from ..errors import SalesforceError

Handler = Callable[[Request], Awaitable[Response]]
BASE = "/services/data/v{version}/jobs"
# Creating a job waits this long for it to finish, so small jobs are complete at first poll.
SETTLE_SECONDS = 0.05
# Results of a job aborted while running wait this long for its worker to stop writing them.
RESULTS_WAIT_SECONDS = 10.0


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise SalesforceError("JSON_PARSER_ERROR", "The request body is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise SalesforceError("JSON_PARSER_ERROR", f"Unexpected character: {error}") from None


def _registry(request: Request) -> bulk.JobRegistry:
    return bulk.registry(api_context(request).org)


def _query_job(request: Request) -> bulk_query.QueryJob:
    job = _registry(request).get(request.path_params["job_id"], bulk_query.QueryJob)
    assert isinstance(job, bulk_query.QueryJob)
    return job


def _ingest_job(request: Request) -> bulk_ingest.IngestJob:
    job = _registry(request).get(request.path_params["job_id"], bulk_ingest.IngestJob)
    assert isinstance(job, bulk_ingest.IngestJob)
    return job


# -- query jobs ------------------------------------------------------------------------------


async def create_query_job(request: Request) -> Response:
    ctx = api_context(request)
    body = await _json_body(request)
    job = await run_in_threadpool(
        bulk_query.create, _registry(request), ctx.session, ctx.version, body
    )
    # Salesforce answers the create call before the job runs, whatever happens next.
    info = {**job.info(full=False), "state": "UploadComplete"}
    await run_in_threadpool(job.done.wait, SETTLE_SECONDS)
    return json_response(info)


async def list_query_jobs(request: Request) -> Response:
    return json_response(bulk_query.list_body(_registry(request)))


async def get_query_job(request: Request) -> Response:
    return json_response(_query_job(request).info(full=True))


async def patch_query_job(request: Request) -> Response:
    job = _query_job(request)
    bulk_query.abort(_registry(request), job, await _json_body(request))
    return json_response(job.info(full=False))


async def delete_query_job(request: Request) -> Response:
    job = _query_job(request)
    await run_in_threadpool(_registry(request).remove, job)
    return Response(status_code=204)


async def query_results(request: Request) -> Response:
    job = _query_job(request)
    params = request.query_params
    page = await run_in_threadpool(
        bulk_query.page, job, params.get("locator"), params.get("maxRecords")
    )
    headers = {
        "Sforce-Locator": page.locator,
        "Sforce-NumberOfRecords": str(page.count),
        "Content-Length": str(page.length),
    }
    return StreamingResponse(page.chunks(), media_type="text/csv", headers=headers)


# -- ingest jobs -----------------------------------------------------------------------------


async def create_ingest_job(request: Request) -> Response:
    ctx = api_context(request)
    body = await _json_body(request)
    job = await run_in_threadpool(
        bulk_ingest.create, _registry(request), ctx.session, ctx.version, body
    )
    return json_response(job.info(full=False))


async def list_ingest_jobs(request: Request) -> Response:
    return json_response(bulk_ingest.list_body(_registry(request)))


async def get_ingest_job(request: Request) -> Response:
    return json_response(_ingest_job(request).info(full=True))


async def patch_ingest_job(request: Request) -> Response:
    job = _ingest_job(request)
    body = await _json_body(request)
    state = await run_in_threadpool(bulk_ingest.patch, _registry(request), job, body)
    info = {**job.info(full=False), "state": state}
    if state == "UploadComplete":
        await run_in_threadpool(job.done.wait, SETTLE_SECONDS)
    return json_response(info)


async def delete_ingest_job(request: Request) -> Response:
    job = _ingest_job(request)
    await run_in_threadpool(_registry(request).remove, job)
    return Response(status_code=204)


async def upload_batch(request: Request) -> Response:
    job = _ingest_job(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > bulk_ingest.MAX_UPLOAD:
        raise SalesforceError(
            "CLIENTINPUTERROR", "Upload exceeds the maximum of 100 MB for one request", 400
        )
    handle = bulk_ingest.begin_upload(job)
    total = 0
    too_large = False
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > bulk_ingest.MAX_UPLOAD:
                too_large = True
                break
            handle.write(chunk)
    finally:
        handle.close()
    if too_large:
        raise bulk_ingest.upload_too_large(job)
    await run_in_threadpool(bulk_ingest.note_header, job)
    return Response(status_code=201)


def _ingest_results(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        job = _ingest_job(request)
        if job.state in bulk.TERMINAL_STATES and job.worker_running():
            await run_in_threadpool(job.idle.wait, RESULTS_WAIT_SECONDS)
        header = bulk_ingest.result_header(job, kind)
        # Opened now, before the answer starts, so a DELETE cannot cut the body short.
        handle = job.open_file(job.result_path(kind)) if bulk_ingest.result_ready(job) else None
        return StreamingResponse(bulk.file_chunks(header, handle), media_type="text/csv")

    return handler


# -- routing ---------------------------------------------------------------------------------


def _resource(methods: dict[str, Handler]) -> Handler:
    """One endpoint per path, so an unsupported method gets Salesforce's 405 envelope."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        handler = methods.get(method)
        if handler is None:
            allowed = ",".join(methods)
            raise SalesforceError(
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
                405,
            )
        return await handler(request)

    return endpoint


def _both(path: str, endpoint: Handler) -> list[BaseRoute]:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


def routes() -> list[BaseRoute]:
    job = "{job_id:str}"
    table: list[tuple[str, dict[str, Handler]]] = [
        ("/query", {"GET": list_query_jobs, "POST": create_query_job}),
        (
            f"/query/{job}",
            {"GET": get_query_job, "PATCH": patch_query_job, "DELETE": delete_query_job},
        ),
        (f"/query/{job}/results", {"GET": query_results}),
        ("/ingest", {"GET": list_ingest_jobs, "POST": create_ingest_job}),
        (
            f"/ingest/{job}",
            {"GET": get_ingest_job, "PATCH": patch_ingest_job, "DELETE": delete_ingest_job},
        ),
        (f"/ingest/{job}/batches", {"PUT": upload_batch}),
    ]
    table += [
        (f"/ingest/{job}/{kind}", {"GET": _ingest_results(kind)})
        for kind in bulk_ingest.RESULT_KINDS
    ]
    found: list[BaseRoute] = []
    for suffix, methods in table:
        found += _both(BASE + suffix, _resource(methods))
    return found
