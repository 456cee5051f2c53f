"""Describe routes: global describe, sObject basic info and sObject describe."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import describe
from ..app import api_context


def _respond(request: Request, answer: describe.Described) -> Response:
    if _not_modified_since(request, answer.built_at):
        return Response(status_code=304)
    return Response(answer.body, media_type="application/json")


def _not_modified_since(request: Request, built_at: int) -> bool:
    """`If-Modified-Since` is honoured against when this metadata was last (re)built."""
    header = request.headers.get("if-modified-since")
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        return False
    return since.timestamp() >= built_at


async def global_describe(request: Request) -> Response:
    ctx = api_context(request)
    return _respond(request, describe.global_describe(ctx.org, ctx.session.profile, ctx.version))


async def basic_info(request: Request) -> Response:
    ctx = api_context(request)
    name = request.path_params["sobject"]
    return _respond(request, describe.basic_info(ctx.org, ctx.session.profile, ctx.version, name))


async def object_describe(request: Request) -> Response:
    ctx = api_context(request)
    name = request.path_params["sobject"]
    return _respond(
        request, describe.object_describe(ctx.org, ctx.session.profile, ctx.version, name)
    )


def routes() -> list[BaseRoute]:
    base = "/services/data/v{version}/sobjects"
    found: list[BaseRoute] = []
    for path, endpoint in (
        (base, global_describe),
        (base + "/{sobject}", basic_info),
        (base + "/{sobject}/describe", object_describe),
    ):
        found.append(Route(path, endpoint, methods=["GET"]))
        found.append(Route(path + "/", endpoint, methods=["GET"]))
    return found
