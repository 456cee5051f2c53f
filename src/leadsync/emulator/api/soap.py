"""SOAP endpoints: partner `/services/Soap/u/{version}` and enterprise `/services/Soap/c/{version}`
(also with the org id suffix of the `serverUrl` that login returns)."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import soap
from ..app import org_of

log = logging.getLogger("leadsync.emulator.soap")

# Salesforce refuses SOAP bodies over 50 MB; nothing we accept comes close.
MAX_BODY = 50 * 1024 * 1024


async def endpoint(request: Request) -> Response:
    org = org_of(request)
    api = request.url.path.split("/")[3]
    version = request.path_params["version"]
    payload = await request.body()
    if len(payload) > MAX_BODY:
        fault = soap.SoapFault("Client", "Request body too large", client=True)
        return _xml(500, soap.fault_document(api, fault))
    try:
        status, document = await run_in_threadpool(soap.handle, org, api, version, payload)
    except Exception:
        # A bug must still answer in the SOAP envelope clients parse, never a traceback.
        log.exception("unexpected error in a SOAP call")
        fault = soap.SoapFault("UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        return _xml(500, soap.fault_document(api, fault))
    return _xml(status, document)


def _xml(status: int, document: bytes) -> Response:
    return Response(document, status_code=status, media_type="text/xml; charset=utf-8")


def routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for api in soap.NAMESPACES:
        base = f"/services/Soap/{api}/{{version:str}}"
        routes += [
            Route(base, endpoint, methods=["POST"]),
            Route(f"{base}/", endpoint, methods=["POST"]),
            Route(f"{base}/{{suffix:path}}", endpoint, methods=["POST"]),
        ]
    return routes
