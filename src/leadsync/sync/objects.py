"""Object specs: which Salesforce objects the pull reads, in which order, and which fields.

The fields read are decided per cycle from describe *as the sync user*: a field that
field-level security hides is never named in a query, so its values cannot reach the database.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from ..db.fields import BY_NAME, FieldType, type_of_salesforce
from ..db.mapping import FieldMapping
from ..salesforce.describe import FieldInfo


class Kind(enum.StrEnum):
    OWNER = "owner"
    COMPANY = "company"
    PERSON = "person"


# Bookkeeping fields the engine itself interprets (identity, deletes, conversions, links).
SYNC_FIELDS = (
    "Id",
    "IsDeleted",
    "SystemModstamp",
    "MasterRecordId",
    "IsConverted",
    "ConvertedContactId",
    "AccountId",
    "OwnerId",
)

# User fields -> `owners` columns (Marketo's 5 sales-owner / 3 account-owner fields).
OWNER_COLUMNS: Mapping[str, str] = {
    "FirstName": "first_name",
    "LastName": "last_name",
    "Email": "email",
    "Phone": "phone",
    "Title": "title",
    "IsActive": "is_active",
}


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    kind: Kind


USER = ObjectSpec("User", Kind.OWNER)
ACCOUNT = ObjectSpec("Account", Kind.COMPANY)
CONTACT = ObjectSpec("Contact", Kind.PERSON)
LEAD = ObjectSpec("Lead", Kind.PERSON)

# Dependency order of the initial copy: owners and companies exist before the persons that
# point at them; contacts before leads so a converted lead finds its contact already linked.
OBJECTS: tuple[ObjectSpec, ...] = (USER, ACCOUNT, CONTACT, LEAD)


@dataclass(frozen=True)
class DataField:
    """A Salesforce field whose value lands on a local field (JSON name or owner column)."""

    api_name: str
    name: str
    type: FieldType
    custom: bool


@dataclass(frozen=True)
class ReadPlan:
    """What one cycle reads of one object: the SELECT list and how each value lands."""

    spec: ObjectSpec
    select: tuple[str, ...]
    data: tuple[DataField, ...]
    sf_types: Mapping[str, str]  # API name -> describe type, to decode Bulk CSV text

    @property
    def name(self) -> str:
        return self.spec.name


def plan(spec: ObjectSpec, visible: Mapping[str, FieldInfo], mapping: FieldMapping) -> ReadPlan:
    """The read plan of `spec` given the fields describe shows the sync user."""
    data = tuple(_data_fields(spec, visible, mapping))
    sync = [name for name in SYNC_FIELDS if name in visible]
    select = tuple(dict.fromkeys([*sync, *(f.api_name for f in data)]))
    return ReadPlan(spec, select, data, {name: visible[name].type for name in select})


def _data_fields(
    spec: ObjectSpec, visible: Mapping[str, FieldInfo], mapping: FieldMapping
) -> list[DataField]:
    fields: list[DataField] = []
    for api_name, info in visible.items():
        if api_name in SYNC_FIELDS:
            continue
        if spec.kind is Kind.OWNER:
            if api_name in OWNER_COLUMNS:
                fields.append(DataField(api_name, OWNER_COLUMNS[api_name], FieldType.STRING, False))
            continue
        name = mapping.json_name(spec.name, api_name)
        if name is None:
            continue  # a standard field leadsync deliberately leaves out
        standard = BY_NAME.get(name)
        type_ = standard.type if standard is not None else type_of_salesforce(info.type)
        fields.append(DataField(api_name, name, type_, standard is None))
    return fields
