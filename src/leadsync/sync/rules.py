"""Field rules: which way each field syncs and who wins when both sides changed it.

Defaults follow Marketo (design §1): lead fields two-way with the marketing side winning,
contact fields two-way with Salesforce winning; account (company), owner, opportunity and
custom-object fields come from Salesforce only. leadsync.toml may change them:

    [rules]
    lead = "marketing-wins"          # every Lead field
    contact = "salesforce-wins"      # every Contact field
    [rules.fields]
    title = "most-recent"            # this person field on Lead and Contact
    [rules.Lead]
    phone = "salesforce-wins"        # this field on Lead only (wins over [rules.fields])
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..db.fields import BY_NAME, Group
from ..errors import ConfigError

Winner = Literal["leadsync", "salesforce"]
LEADSYNC: Winner = "leadsync"
SALESFORCE: Winner = "salesforce"


class Rule(enum.StrEnum):
    MARKETING_WINS = "marketing-wins"  # two-way, leadsync's value wins a conflict
    SALESFORCE_WINS = "salesforce-wins"  # two-way, Salesforce's value wins a conflict
    MOST_RECENT = "most-recent"  # two-way, the later edit wins
    SALESFORCE_ONLY = "salesforce-only"  # pulled, never pushed
    LEADSYNC_ONLY = "leadsync-only"  # pushed, never pulled
    PREFER_SALESFORCE = "prefer-salesforce-unless-blank"
    DONT_SYNC = "dont-sync"

    @property
    def pushes(self) -> bool:
        return self not in (Rule.SALESFORCE_ONLY, Rule.DONT_SYNC)

    @property
    def pulls(self) -> bool:
        return self not in (Rule.LEADSYNC_ONLY, Rule.DONT_SYNC)


PERSON_OBJECTS = ("Lead", "Contact")
_DEFAULTS: Mapping[str, Rule] = {"Lead": Rule.MARKETING_WINS, "Contact": Rule.SALESFORCE_WINS}
_OBJECT_KEYS = {"lead": "Lead", "contact": "Contact"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FieldRules:
    """The rule of every (Salesforce object, person field) pair."""

    objects: Mapping[str, Rule] = field(default_factory=lambda: dict(_DEFAULTS))
    fields: Mapping[str, Rule] = field(default_factory=dict)  # JSON name -> rule, both objects
    by_object: Mapping[str, Mapping[str, Rule]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> FieldRules:
        """From leadsync.toml's `[rules]` table; every bad key or value is listed at once."""
        problems: list[str] = []
        objects = dict(_DEFAULTS)
        fields: dict[str, Rule] = {}
        by_object: dict[str, dict[str, Rule]] = {}
        for key, value in table.items():
            if key in _OBJECT_KEYS:
                rule = _parse(value, f"rules.{key}", problems)
                if rule is not None:
                    objects[_OBJECT_KEYS[key]] = rule
            elif key == "fields" or key in PERSON_OBJECTS:
                target = fields if key == "fields" else by_object.setdefault(key, {})
                _field_rules(value, f"rules.{key}", target, problems)
            else:
                problems.append(
                    f"rules.{key}: unknown key (expected lead, contact, fields, Lead or Contact)"
                )
        if problems:
            raise ConfigError("invalid [rules]: " + "; ".join(problems))
        return cls(objects, fields, by_object)

    def rule(self, sfdc_object: str, json_name: str) -> Rule:
        if sfdc_object not in PERSON_OBJECTS:
            return Rule.SALESFORCE_ONLY  # accounts, owners, opportunities, custom objects
        spec = BY_NAME.get(json_name)
        if spec is not None and spec.group in (Group.OWNER, Group.SYNC):
            return Rule.SALESFORCE_ONLY
        if spec is not None and spec.group is Group.COMPANY and sfdc_object == "Contact":
            return Rule.SALESFORCE_ONLY  # a contact's company fields are its account's
        found = self.by_object.get(sfdc_object, {}).get(json_name) or self.fields.get(json_name)
        return found or self.objects.get(sfdc_object, _DEFAULTS[sfdc_object])


def _parse(value: Any, where: str, problems: list[str]) -> Rule | None:
    try:
        return Rule(value)
    except ValueError:
        choices = ", ".join(r.value for r in Rule)
        problems.append(f"{where}: {value!r} is not a rule (one of {choices})")
        return None


def _field_rules(value: Any, where: str, target: dict[str, Rule], problems: list[str]) -> None:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected a table of field = rule")
        return
    for name, raw in value.items():
        spec = BY_NAME.get(str(name))
        if not _NAME.match(str(name)):
            problems.append(f"{where}.{name}: not a field name")
        elif spec is not None and spec.group in (Group.OWNER, Group.SYNC):
            problems.append(f"{where}.{name}: {spec.group} fields are Salesforce-only")
        else:
            rule = _parse(raw, f"{where}.{name}", problems)
            if rule is not None:
                target[str(name)] = rule


def settle(
    rule: Rule,
    baseline: Any,
    local: Any,
    remote: Any,
    local_at: dt.datetime | None,
    remote_at: dt.datetime | None,
) -> Winner:
    """Who wins a field both sides changed (from `baseline`) to different values."""
    del baseline  # the winner does not depend on it; kept for the record and future rules
    match rule:
        case Rule.MARKETING_WINS | Rule.LEADSYNC_ONLY:
            return LEADSYNC
        case Rule.MOST_RECENT:
            if local_at is not None and (remote_at is None or local_at > remote_at):
                return LEADSYNC
            return SALESFORCE
        case Rule.PREFER_SALESFORCE:
            return LEADSYNC if _blank(remote) and not _blank(local) else SALESFORCE
        case _:
            return SALESFORCE


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
