"""HTTP routes of the emulated org, one module per API family."""

from __future__ import annotations

import importlib

from starlette.routing import BaseRoute

# Each module exposes `routes() -> list[BaseRoute]`. Order matters where paths overlap.
_MODULES = (
    "discovery",
    "oauth",
    "soap",
    "describe",
    "query",
    "composite",
    "sobjects",
    "bulk",
    "admin",
)


def all_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in _MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        routes.extend(module.routes())
    return routes
