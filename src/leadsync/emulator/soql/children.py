"""Child relationship sub-queries: `SELECT Name, (SELECT LastName FROM Contacts) FROM Account`.

A sub-query compiles to its own statement whose first parameter is the parent row's Id; the
executor runs it once per parent record (the child's lookup column is indexed).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from . import nodes
from .plan import OutChild

if TYPE_CHECKING:
    from .compiler import Compiler


def compile_child(parent: Compiler, item: nodes.SubqueryItem, include_deleted: bool) -> OutChild:
    from ..describe import child_relationship_name
    from .compiler import Compiler

    if parent.link is not None:
        raise parent.malformed(item.pos, "unexpected token: 'SELECT'")
    root = parent.root.targets[0]
    wanted = item.query.object_name.lower()
    profile = parent.profile
    for child, reference in parent.schema.child_relationships(root.name):
        name = child_relationship_name(root.name, child, reference)
        if (
            name is not None
            and name.lower() == wanted
            and profile.can_see_object(child.name)
            and profile.can_see(child.name, reference.name)
        ):
            break
    else:
        raise parent.error(
            "INVALID_TYPE",
            item.pos,
            f"Didn't understand relationship '{item.query.object_name}' in FROM part of query "
            "call. If you are attempting to use a custom relationship, be sure to append the "
            "'__r' after the custom relationship name. Please reference your WSDL or the "
            "describe call for the appropriate names.",
        )
    sub = Compiler(parent.schema, profile, parent.soql, parent.today, f"{parent.new_alias()}_")
    sub.link = reference.name
    plan = sub.compile(
        dataclasses.replace(item.query, object_name=child.name), include_deleted=include_deleted
    )
    if plan.aggregate or plan.count_only:
        raise parent.malformed(item.pos, "aggregate functions are not allowed in sub-queries")
    return OutChild(name, plan, parent_index=0, link_column=reference.name)
