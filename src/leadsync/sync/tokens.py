"""`{{lead.field}}` tokens in Create Task's subject and description, filled from person JSON.

- `{{lead.firstName}}`: a person field by its JSON name. Marketo's display-name style
  (`{{lead.First Name}}`) works too: names compare case-insensitively, spaces ignored.
- `{{company.industry}}`: the same person JSON (company fields live on it); `company.name`
  is the company name.
- `{{system.date}}` / `{{system.dateTime}}`: the action's date / UTC time.
- `{{lead.firstName:default=there}}`: the default replaces an empty value.

A known field with no value becomes its default, else the empty string (as Marketo does). A
token naming a field the person does not have is left exactly as written, so the mistake shows
in Salesforce instead of vanishing silently.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(r"\{\{\s*(lead|company|system)\.([^}:]+?)\s*(?::\s*default\s*=([^}]*))?\}\}")
_COMPANY_ALIASES = {"name": "company"}


def render(text: str, person: Mapping[str, Any], at: dt.datetime) -> str:
    folded = {_fold(name): name for name in person}

    def replace(match: re.Match[str]) -> str:
        scope, name, default = match.group(1), match.group(2).strip(), match.group(3)
        if scope == "system":
            value = _system(name, at)
            if value is None:
                return match.group(0)
        else:
            if scope == "company":
                name = _COMPANY_ALIASES.get(name.lower(), name)
            key = name if name in person else folded.get(_fold(name))
            if key is None:
                return match.group(0)
            value = _text(person[key])
        if not value and default is not None:
            return default.strip()
        return value

    return _TOKEN.sub(replace, text)


def _fold(name: str) -> str:
    return name.replace(" ", "").replace("_", "").lower()


def _system(name: str, at: dt.datetime) -> str | None:
    key = _fold(name)
    if key == "date":
        return at.date().isoformat()
    if key == "datetime":
        return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
