"""Object specs: which Salesforce objects the pull reads, in which order, and which fields.

The fields read are decided per cycle from describe *as the sync user*: a field that
field-level security hides is never named in a query, so its values cannot reach the database.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..db.fields import BY_NAME, FieldType, type_of_salesforce
from ..db.mapping import FieldMapping
from ..salesforce.describe import FieldInfo
from .rules import FieldRules


class Kind(enum.StrEnum):
    OWNER = "owner"
    QUEUE = "queue"
    COMPANY = "company"
    PERSON = "person"
    OPPORTUNITY = "opportunity"
    ROLE = "role"
    CAMPAIGN = "campaign"
    CAMPAIGN_STATUS = "campaign_status"
    CAMPAIGN_MEMBER = "campaign_member"
    CUSTOM = "custom"  # a custom object that looks up a lead, contact or account
    ACTIVITY = "activity"  # Task and Event


# Objects that are not persons, companies or owners: every visible field is read and kept
# by its API name (no mapping onto person fields).
RELATED_KINDS = frozenset(
    {
        Kind.QUEUE,
        Kind.OPPORTUNITY,
        Kind.ROLE,
        Kind.CAMPAIGN,
        Kind.CAMPAIGN_STATUS,
        Kind.CAMPAIGN_MEMBER,
        Kind.CUSTOM,
        Kind.ACTIVITY,
    }
)
# Audit fields of every object: not data worth a copy (SystemModstamp is bookkeeping).
AUDIT_FIELDS = frozenset({"CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"})


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

EXTERNAL_ID = "LeadSync_Id__c"  # the person id on Lead and Contact; creates upsert on it

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
QUEUE = ObjectSpec("Group", Kind.QUEUE)  # only Type = 'Queue' rows are kept
ACCOUNT = ObjectSpec("Account", Kind.COMPANY)
CONTACT = ObjectSpec("Contact", Kind.PERSON)
LEAD = ObjectSpec("Lead", Kind.PERSON)
OPPORTUNITY = ObjectSpec("Opportunity", Kind.OPPORTUNITY)
ROLE = ObjectSpec("OpportunityContactRole", Kind.ROLE)
CAMPAIGN = ObjectSpec("Campaign", Kind.CAMPAIGN)
CAMPAIGN_STATUS = ObjectSpec("CampaignMemberStatus", Kind.CAMPAIGN_STATUS)
CAMPAIGN_MEMBER = ObjectSpec("CampaignMember", Kind.CAMPAIGN_MEMBER)
TASK = ObjectSpec("Task", Kind.ACTIVITY)
EVENT = ObjectSpec("Event", Kind.ACTIVITY)

# Dependency order of the initial copy: owners and companies exist before the persons that
# point at them; contacts before leads so a converted lead finds its contact already linked;
# persons before the records that point at them (roles, members, custom records, tasks).
# Custom objects, found at run time, go just before the tasks (see `ordered_specs`).
OBJECTS: tuple[ObjectSpec, ...] = (
    USER,
    QUEUE,
    ACCOUNT,
    CONTACT,
    LEAD,
    OPPORTUNITY,
    ROLE,
    CAMPAIGN,
    CAMPAIGN_STATUS,
    CAMPAIGN_MEMBER,
    TASK,
    EVENT,
)
PERSON_LOOKUPS = frozenset({"Lead", "Contact", "Account"})  # what a custom object must look up


def links_to_persons(visible: Mapping[str, FieldInfo]) -> bool:
    """Whether a custom object is pulled: one of its lookups names a lead, contact or account
    (describe lists a lookup's targets only if the sync user can see them)."""
    return any(
        info.type == "reference" and PERSON_LOOKUPS & set(info.reference_to)
        for info in visible.values()
    )


def ordered_specs(
    objects: tuple[ObjectSpec, ...], queryable: set[str], customs: list[str]
) -> list[ObjectSpec]:
    """The specs to pull, in copy order: objects the sync user cannot query are left out;
    custom objects go before the first activity object (after every record they point at)."""
    specs = [spec for spec in objects if spec.name in queryable]
    extra = [ObjectSpec(name, Kind.CUSTOM) for name in sorted(customs)]
    at = next((i for i, s in enumerate(specs) if s.kind is Kind.ACTIVITY), len(specs))
    return specs[:at] + extra + specs[at:]


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
    rules: FieldRules = field(default_factory=FieldRules)
    external_id: str | None = None  # leadsync's person id field, read as a sync field

    @property
    def name(self) -> str:
        return self.spec.name


def plan(
    spec: ObjectSpec,
    visible: Mapping[str, FieldInfo],
    mapping: FieldMapping,
    *,
    rules: FieldRules | None = None,
    external_id: str = EXTERNAL_ID,
) -> ReadPlan:
    """The read plan of `spec` given the fields describe shows the sync user. Fields whose
    rule never pulls (leadsync-only, dont-sync) are not read; the external id is bookkeeping,
    not data."""
    rules = rules or FieldRules()
    ext = external_id if spec.kind is Kind.PERSON and external_id in visible else None
    data = tuple(
        f
        for f in _data_fields(spec, visible, mapping)
        if f.api_name != ext and rules.rule(spec.name, f.name).pulls
    )
    sync = [name for name in (*SYNC_FIELDS, ext) if name and name in visible]
    select = tuple(dict.fromkeys([*sync, *(f.api_name for f in data)]))
    types = {name: visible[name].type for name in select}
    return ReadPlan(spec, select, data, types, rules, ext)


def _data_fields(
    spec: ObjectSpec, visible: Mapping[str, FieldInfo], mapping: FieldMapping
) -> list[DataField]:
    fields: list[DataField] = []
    for api_name, info in visible.items():
        if api_name in SYNC_FIELDS:
            continue
        if spec.kind in RELATED_KINDS:
            if api_name not in AUDIT_FIELDS:
                type_ = type_of_salesforce(info.type)
                fields.append(DataField(api_name, api_name, type_, info.custom))
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
