"""What a push sends: the fields of a person that differ from the link's baseline, by API name.

A push compares the person's *current* values with the baseline, not the outbox's recorded new
values: the pull may already have settled a field (Salesforce won), and a field that failed
earlier is sent again with the next change. Only fields that describe shows the sync user as
updateable (createable, for a create) and whose rule pushes are sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..db.fields import BY_NAME
from ..db.mapping import FieldMapping
from ..salesforce.describe import FieldInfo
from .objects import SYNC_FIELDS
from .rules import FieldRules


@dataclass(frozen=True)
class PushFields:
    """One object's pushable fields: API name -> person field (JSON name)."""

    object: str
    update: Mapping[str, str]
    create: Mapping[str, str]


def push_fields(
    sfdc_object: str,
    visible: Mapping[str, FieldInfo],
    mapping: FieldMapping,
    rules: FieldRules,
    external_id: str,
) -> PushFields:
    update: dict[str, str] = {}
    create: dict[str, str] = {}
    for api, info in visible.items():
        if api in SYNC_FIELDS or api == external_id:
            continue
        name = mapping.json_name(sfdc_object, api)
        if name is None:
            continue
        spec = BY_NAME.get(name)
        if spec is not None and not spec.editable:
            continue
        if not rules.rule(sfdc_object, name).pushes:
            continue
        if info.updateable:
            update[api] = name
        if info.createable:
            create[api] = name
    return PushFields(sfdc_object, update, create)


def differing(
    person: Mapping[str, Any], baseline: Mapping[str, Any], fields: Mapping[str, str]
) -> dict[str, Any]:
    """API name -> local value, for the fields whose local value is not the baseline's."""
    values: dict[str, Any] = {}
    for api, name in fields.items():
        local = person.get(name)
        if api in baseline:
            if baseline[api] != local:
                values[api] = local
        elif local is not None:
            values[api] = local
    return values


def create_values(
    person: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    default_last_name: str,
    default_company: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A first push: (every set value, Salesforce's required lead fields filled in where the
    person has none). The defaults are kept apart: they are not the person's values, so they
    stay out of the baseline and reach the person when the pull reads the new lead."""
    values = {api: person.get(name) for api, name in fields.items() if person.get(name) is not None}
    defaults = {}
    if not values.get("LastName"):
        defaults["LastName"] = default_last_name
    if not values.get("Company"):
        defaults["Company"] = default_company
    return values, defaults
