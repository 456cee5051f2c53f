"""Field mapping between Salesforce API names and person field (JSON) names.

The defaults are the registry in `fields.py`. Custom fields keep their API names, so a Lead and
a Contact field with the same API name become one person field (as Marketo merges them). Users
extend or change the mapping in leadsync.toml:

    [mapping.Lead]
    Favourite_Colour__c = "favouriteColour"

    [mapping.Contact]
    Favourite_Colour__c = "favouriteColour"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .fields import PERSON_FIELDS, Group

MAPPED_OBJECTS = ("Lead", "Contact", "Account")
_JSON_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _defaults() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {name: {} for name in MAPPED_OBJECTS}
    for spec in PERSON_FIELDS:
        if spec.group in (Group.OWNER, Group.SYNC):
            continue  # owner and sync fields are filled by the sync's own rules
        for obj, api in (("Lead", spec.lead), ("Contact", spec.contact), ("Account", spec.account)):
            if api:
                table[obj][api] = spec.name
    return table


@dataclass(frozen=True)
class FieldMapping:
    """API name <-> JSON name per object (Lead, Contact, Account)."""

    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> FieldMapping:
        """From leadsync.toml's `[mapping.<Object>]` tables; names are checked here."""
        overrides: dict[str, dict[str, str]] = {}
        for obj, entries in table.items():
            if obj not in MAPPED_OBJECTS or not isinstance(entries, Mapping):
                raise ConfigError(f"mapping.{obj}: expected one of {', '.join(MAPPED_OBJECTS)}")
            for api_name, json_name in entries.items():
                if not isinstance(json_name, str) or not _JSON_NAME.match(json_name):
                    raise ConfigError(f"mapping.{obj}.{api_name}: not a field name: {json_name!r}")
                overrides.setdefault(obj, {})[str(api_name)] = json_name
        return cls(overrides)

    def json_name(self, sfdc_object: str, api_name: str) -> str | None:
        """The person field an API field syncs with; None for unmapped standard fields."""
        mapped = self.overrides.get(sfdc_object, {}).get(api_name)
        if mapped is None:
            mapped = _DEFAULTS.get(sfdc_object, {}).get(api_name)
        if mapped is None and api_name.endswith("__c"):
            mapped = api_name
        return mapped

    def api_name(self, sfdc_object: str, json_name: str) -> str | None:
        """The API field of `sfdc_object` a person field syncs with, if any."""
        for api, name in self.overrides.get(sfdc_object, {}).items():
            if name == json_name:
                return api
        overridden = set(self.overrides.get(sfdc_object, {}))
        for api, name in _DEFAULTS.get(sfdc_object, {}).items():
            if name == json_name and api not in overridden:
                return api
        return json_name if json_name.endswith("__c") else None


_DEFAULTS = _defaults()
