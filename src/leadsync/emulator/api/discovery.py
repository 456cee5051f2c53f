"""Discovery: the version list, the resources of a version, and /limits."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..app import api_context, json_response, org_of
from ..org import API_VERSIONS

_RELEASES = {
    59: "Winter '24",
    60: "Spring '24",
    61: "Summer '24",
    62: "Winter '25",
    63: "Spring '25",
    64: "Summer '25",
    65: "Winter '26",
    66: "Spring '26",
    67: "Summer '26",
}
_SEASONS = ("Spring", "Summer", "Winter")


def release_label(version: str) -> str:
    major = int(float(version))
    if major in _RELEASES:
        return _RELEASES[major]
    # Three releases a year; v31.0 was Summer '14.
    steps = major - 31
    season = _SEASONS[(1 + steps) % 3]
    year = 14 + (steps + 1) // 3 + (1 if season == "Winter" else 0)
    return f"{season} '{year:02d}"


async def versions(request: Request) -> Response:
    return json_response(
        [
            {"label": release_label(v), "url": f"/services/data/v{v}", "version": v}
            for v in API_VERSIONS
        ]
    )


async def resources(request: Request) -> Response:
    ctx = api_context(request)
    base = ctx.base
    names = [
        "sobjects",
        "query",
        "queryAll",
        "search",
        "composite",
        "limits",
        "jobs",
        "tooling",
        "actions",
        "recent",
        "tabs",
        "theme",
        "connect",
        "analytics",
        "chatter",
    ]
    body = {name: f"{base}/{name}" for name in names}
    body["identity"] = f"{org_of(request).instance_url}/id/{ctx.org.id}/{ctx.session.user_id}"
    return json_response(body)


async def limits(request: Request) -> Response:
    ctx = api_context(request)
    counter = ctx.org.limits
    big = {"Max": 15000, "Remaining": 15000}
    body = {
        "DailyApiRequests": {
            "Max": counter.maximum,
            "Remaining": max(counter.maximum - counter.used, 0),
        },
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "DailyStreamingApiEvents": {"Max": 10000, "Remaining": 10000},
        "DataStorageMB": {"Max": 5, "Remaining": 5},
        "FileStorageMB": {"Max": 20, "Remaining": 20},
        "HourlyPublishedPlatformEvents": {"Max": 50000, "Remaining": 50000},
        "SingleEmail": big,
        "MassEmail": big,
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
    }
    return json_response(body)


def routes() -> list[BaseRoute]:
    return [
        Route("/services/data", versions, methods=["GET"]),
        Route("/services/data/", versions, methods=["GET"]),
        Route("/services/data/v{version}", resources, methods=["GET"]),
        Route("/services/data/v{version}/", resources, methods=["GET"]),
        Route("/services/data/v{version}/limits", limits, methods=["GET"]),
        Route("/services/data/v{version}/limits/", limits, methods=["GET"]),
    ]
