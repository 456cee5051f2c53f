from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from leadsync.db.fields import PERSON_FIELDS, BadValue, FieldType, Group, coerce
from leadsync.db.mapping import FieldMapping
from leadsync.errors import ConfigError


def test_registry_names_are_unique_and_grouped() -> None:
    names = [f.name for f in PERSON_FIELDS]
    assert len(names) == len(set(names))
    owners = [f.name for f in PERSON_FIELDS if f.group is Group.OWNER]
    assert len(owners) == 8  # 5 sales-owner fields + 3 account-owner fields
    assert all(f.account for f in PERSON_FIELDS if f.group is Group.COMPANY)


@pytest.mark.parametrize(
    ("type_", "given", "stored"),
    [
        (FieldType.BOOLEAN, "TRUE", True),
        (FieldType.BOOLEAN, "0", False),
        (FieldType.INTEGER, " 12 ", 12),
        (FieldType.INTEGER, 3.0, 3),
        (FieldType.FLOAT, "1.5", 1.5),
        (FieldType.FLOAT, 2, 2.0),
        (FieldType.STRING, 12, "12"),
        (FieldType.EMAIL, " a@b.co ", "a@b.co"),
        (FieldType.EMAIL, "", None),
        (FieldType.DATE, "2026-02-03", "2026-02-03"),
        (FieldType.DATE, dt.date(2026, 2, 3), "2026-02-03"),
        (FieldType.DATETIME, "2026-02-03T04:05:06+01:00", "2026-02-03T03:05:06Z"),
        (FieldType.TEXT, None, None),
    ],
)
def test_coerce_accepts_strict_forms(type_: FieldType, given: Any, stored: Any) -> None:
    assert coerce(type_, given) == stored
    assert type(coerce(type_, given)) is type(stored)


@pytest.mark.parametrize(
    ("type_", "given"),
    [
        (FieldType.BOOLEAN, "maybe"),
        (FieldType.BOOLEAN, 1),
        (FieldType.INTEGER, 1.5),
        (FieldType.INTEGER, True),
        (FieldType.FLOAT, "x"),
        (FieldType.EMAIL, "no-at-sign"),
        (FieldType.DATE, "03/02/2026"),
        (FieldType.DATETIME, "2026-02-03T04:05:06"),  # no timezone
        (FieldType.STRING, {"a": 1}),
    ],
)
def test_coerce_refuses_bad_values(type_: FieldType, given: Any) -> None:
    with pytest.raises(BadValue):
        coerce(type_, given)


def test_mapping_defaults_and_overrides() -> None:
    mapping = FieldMapping.from_config({"Contact": {"Level__c": "level", "Title": "jobTitle"}})
    assert mapping.json_name("Lead", "HasOptedOutOfEmail") == "unsubscribed"
    assert mapping.json_name("Contact", "MailingCity") == "city"
    assert mapping.json_name("Account", "Name") == "company"
    assert mapping.json_name("Lead", "Level__c") == "Level__c"
    assert mapping.json_name("Contact", "Level__c") == "level"
    assert mapping.json_name("Lead", "Jigsaw") is None  # a standard field left out
    assert mapping.api_name("Contact", "jobTitle") == "Title"
    assert mapping.api_name("Contact", "title") is None
    with pytest.raises(ConfigError):
        FieldMapping.from_config({"Opportunity": {"X__c": "x"}})
    with pytest.raises(ConfigError):
        FieldMapping.from_config({"Lead": {"X__c": "not a name"}})
