"""HTTP routes of the emulated org, one module per API family."""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import admin, bulk, composite, describe, discovery, oauth, query, soap, sobjects


def all_routes() -> list[BaseRoute]:
    # Order matters where paths overlap: describe's `/sobjects/{obj}` GET and
    # `/sobjects/{obj}/describe` come before the record routes of `sobjects`.
    routes: list[BaseRoute] = []
    for module in (discovery, oauth, soap, describe, query, composite, sobjects, bulk, admin):
        routes.extend(module.routes())
    return routes
