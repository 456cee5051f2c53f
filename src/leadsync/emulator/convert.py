"""Lead conversion (SOAP `convertLead`): a lead becomes an account, a contact and optionally an
opportunity, or merges into an existing account and contact.

Each lead converts in its own savepoint, so one failure leaves the others converted, as on a
real org. Merging into existing records only fills their empty fields.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .dml import full_name, system_insert
from .errors import SalesforceError
from .ids import KEY_PREFIXES, normalize_id
from .standard_objects import OPPORTUNITY_STAGES
from .store import quote
from .values import today

if TYPE_CHECKING:
    from .org import Org
    from .sessions import Session

MAX_CONVERTS = 200

_ADDRESS_PARTS = (
    "Street",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Latitude",
    "Longitude",
    "GeocodeAccuracy",
)
# Standard lead field mappings (target field <- lead field).
_ACCOUNT_MAP = {
    "Name": "Company",
    "Industry": "Industry",
    "AnnualRevenue": "AnnualRevenue",
    "NumberOfEmployees": "NumberOfEmployees",
    "Website": "Website",
    "Phone": "Phone",
    "Rating": "Rating",
    **{f"Billing{part}": part for part in _ADDRESS_PARTS},
}
_CONTACT_MAP = {
    "Salutation": "Salutation",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Title": "Title",
    "Email": "Email",
    "Phone": "Phone",
    "MobilePhone": "MobilePhone",
    "Description": "Description",
    "LeadSource": "LeadSource",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail",
    "DoNotCall": "DoNotCall",
    **{f"Mailing{part}": part for part in _ADDRESS_PARTS},
}


@dataclass(frozen=True)
class LeadConvert:
    """One `leadConverts` entry of the request."""

    lead_id: str | None
    converted_status: str | None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    do_not_create_opportunity: bool = False
    opportunity_name: str | None = None
    overwrite_lead_source: bool = False
    owner_id: str | None = None


@dataclass
class LeadConvertResult:
    lead_id: str | None
    success: bool
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    errors: list[SalesforceError] = field(default_factory=list)


def convert_leads(
    org: Org, session: Session, items: Sequence[LeadConvert]
) -> list[LeadConvertResult]:
    """Convert each lead; per-lead failures are results, never exceptions."""
    if len(items) > MAX_CONVERTS:
        raise SalesforceError(
            "LIMIT_EXCEEDED", f"Too many leads to convert: {len(items)}. Max is {MAX_CONVERTS}."
        )
    results: list[LeadConvertResult] = []
    with org.store.write() as conn:
        now = org.clock.now()
        for item in items:
            try:
                with org.store.savepoint(conn, "lead_convert"):
                    results.append(_Conversion(org, session, conn, now).run(item))
            except SalesforceError as error:
                results.append(LeadConvertResult(item.lead_id, False, errors=[error]))
    return results


def _invalid_reference(field_name: str) -> SalesforceError:
    return SalesforceError(
        "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[field_name]
    )


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


class _Conversion:
    """Converts one lead inside the caller's savepoint."""

    def __init__(self, org: Org, session: Session, conn: sqlite3.Connection, now: int) -> None:
        self.org = org
        self.session = session
        self.conn = conn
        self.now = now

    def run(self, item: LeadConvert) -> LeadConvertResult:
        lead = self._lead(item.lead_id)
        status = self._converted_status(item.converted_status)
        owner_id = self._owner(item.owner_id, lead)
        account_id = self._account(item.account_id, lead, owner_id)
        contact_id = self._contact(item, lead, account_id, owner_id)
        opportunity_id = self._opportunity(item, lead, account_id, contact_id, owner_id)
        self._update(
            "Lead",
            lead["Id"],
            {
                "IsConverted": 1,
                "ConvertedAccountId": account_id,
                "ConvertedContactId": contact_id,
                "ConvertedOpportunityId": opportunity_id,
                "ConvertedDate": today(self.now),
                "Status": status,
            },
        )
        self._move_children(lead["Id"], contact_id)
        return LeadConvertResult(lead["Id"], True, account_id, contact_id, opportunity_id)

    # -- lookups -----------------------------------------------------------------------------

    def _fetch(self, object_name: str, raw_id: str | None, field_name: str) -> dict[str, Any]:
        record_id = normalize_id(raw_id or "")
        if record_id is None or record_id[:3] != KEY_PREFIXES[object_name]:
            raise _invalid_reference(field_name)
        obj = self.org.schema.get(object_name)
        assert obj is not None
        row = self.org.store.fetch_one(self.conn, obj, record_id)
        if row is None or row["IsDeleted"]:
            raise _invalid_reference(field_name)
        return row

    def _lead(self, lead_id: str | None) -> dict[str, Any]:
        if not lead_id:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING", "Required fields are missing: [leadId]", fields=["leadId"]
            )
        lead = self._fetch("Lead", lead_id, "leadId")
        if lead["IsConverted"]:
            raise SalesforceError(
                "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", fields=["Id"]
            )
        return lead

    def _converted_status(self, status: str | None) -> str:
        if not status:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [convertedStatus]",
                fields=["convertedStatus"],
            )
        row = self.conn.execute(
            'SELECT "MasterLabel" FROM "LeadStatus" WHERE "MasterLabel" = ? '
            'AND "IsConverted" = 1 AND "IsDeleted" = 0',
            (status,),
        ).fetchone()
        if row is None:
            raise SalesforceError(
                "INVALID_STATUS", f"invalid convertedStatus: {status}", fields=["convertedStatus"]
            )
        return str(row[0])

    def _owner(self, owner_id: str | None, lead: dict[str, Any]) -> str:
        if owner_id:
            user = self._fetch("User", owner_id, "ownerId")
            if not user["IsActive"]:
                raise SalesforceError(
                    "INACTIVE_OWNER_OR_USER",
                    "operation performed with inactive user",
                    fields=["ownerId"],
                )
            return str(user["Id"])
        current = str(lead["OwnerId"] or "")
        # A queue cannot own accounts or contacts: the converting user takes them.
        if current.startswith(KEY_PREFIXES["User"]):
            return current
        return self.session.user_id

    # -- targets -----------------------------------------------------------------------------

    def _account(self, account_id: str | None, lead: dict[str, Any], owner_id: str) -> str:
        mapped = {target: lead[source] for target, source in _ACCOUNT_MAP.items()}
        if not mapped["Name"]:
            mapped["Name"] = lead["Name"] or lead["LastName"]
        if account_id:
            account = self._fetch("Account", account_id, "accountId")
            self._update("Account", account["Id"], _fill_empty(account, mapped))
            return str(account["Id"])
        return self._insert("Account", {**mapped, "OwnerId": owner_id})

    def _contact(
        self, item: LeadConvert, lead: dict[str, Any], account_id: str, owner_id: str
    ) -> str:
        mapped = {target: lead[source] for target, source in _CONTACT_MAP.items()}
        mapped.update(self._custom_fields(lead))
        if not item.contact_id:
            return self._insert("Contact", {**mapped, "AccountId": account_id, "OwnerId": owner_id})
        if not item.account_id:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING",
                "accountId must be specified if contactId is not null",
                fields=["accountId"],
            )
        contact = self._fetch("Contact", item.contact_id, "contactId")
        if contact["AccountId"] not in (None, account_id):
            raise SalesforceError(
                "INVALID_CROSS_REFERENCE_KEY",
                "contactId must be a child of accountId",
                fields=["contactId"],
            )
        changes = _fill_empty(
            contact,
            {k: v for k, v in mapped.items() if not k.startswith(("HasOptedOut", "DoNotCall"))},
        )
        if item.overwrite_lead_source and lead["LeadSource"]:
            changes["LeadSource"] = lead["LeadSource"]
        if contact["AccountId"] is None:
            changes["AccountId"] = account_id
        if "FirstName" in changes or "LastName" in changes:
            changes["Name"] = full_name(
                changes.get("FirstName", contact["FirstName"]),
                changes.get("LastName", contact["LastName"]),
            )
        self._update("Contact", contact["Id"], changes)
        return str(contact["Id"])

    def _custom_fields(self, lead: dict[str, Any]) -> dict[str, Any]:
        """Custom fields that exist with the same API name on Lead and Contact."""
        lead_obj = self.org.schema.get("Lead")
        contact_obj = self.org.schema.get("Contact")
        assert lead_obj is not None and contact_obj is not None
        copied = {}
        for definition in lead_obj.stored_fields():
            target = contact_obj.field(definition.name)
            if definition.custom and target is not None and target.stored:
                copied[target.name] = lead[definition.name]
        return copied

    def _opportunity(
        self,
        item: LeadConvert,
        lead: dict[str, Any],
        account_id: str,
        contact_id: str,
        owner_id: str,
    ) -> str | None:
        if item.opportunity_id:
            opportunity = self._fetch("Opportunity", item.opportunity_id, "opportunityId")
            self._add_contact_role(str(opportunity["Id"]), contact_id)
            return str(opportunity["Id"])
        if item.do_not_create_opportunity:
            return None
        name = item.opportunity_name or lead["Company"] or lead["Name"]
        if len(name) > 120:
            raise SalesforceError(
                "STRING_TOO_LONG",
                f"Name: data value too large: {name} (max length=120)",
                fields=["opportunityName"],
            )
        opportunity_id = self._insert(
            "Opportunity",
            {
                "Name": name,
                "AccountId": account_id,
                "StageName": OPPORTUNITY_STAGES[0],
                "CloseDate": today(self.now),
                "LeadSource": lead["LeadSource"],
                "OwnerId": owner_id,
            },
        )
        self._add_contact_role(opportunity_id, contact_id)
        return opportunity_id

    def _add_contact_role(self, opportunity_id: str, contact_id: str) -> None:
        existing = self.conn.execute(
            'SELECT 1 FROM "OpportunityContactRole" WHERE "OpportunityId" = ? '
            'AND "ContactId" = ? AND "IsDeleted" = 0',
            (opportunity_id, contact_id),
        ).fetchone()
        if existing is None:
            self._insert(
                "OpportunityContactRole",
                {
                    "OpportunityId": opportunity_id,
                    "ContactId": contact_id,
                    "IsPrimary": 1,
                },
            )

    def _move_children(self, lead_id: str, contact_id: str) -> None:
        """Campaign memberships gain the contact; the lead's activities move to it."""
        self.conn.execute(
            'UPDATE "CampaignMember" SET "ContactId" = ?, "SystemModstamp" = ? '
            'WHERE "LeadId" = ? AND "IsDeleted" = 0 AND "ContactId" IS NULL '
            'AND "CampaignId" NOT IN (SELECT "CampaignId" FROM "CampaignMember" '
            'WHERE "ContactId" = ? AND "IsDeleted" = 0)',
            (contact_id, self.now, lead_id, contact_id),
        )
        for activity in ("Task", "Event"):
            self.conn.execute(
                f'UPDATE {quote(activity)} SET "WhoId" = ?, "SystemModstamp" = ? WHERE "WhoId" = ?',
                (contact_id, self.now, lead_id),
            )

    # -- writes ------------------------------------------------------------------------------

    def _check_unique(
        self, object_name: str, values: dict[str, Any], record_id: str | None = None
    ) -> None:
        """Copied values must not collide with a unique field (say LeadSync_Id__c)."""
        obj = self.org.schema.get(object_name)
        assert obj is not None
        for name, value in values.items():
            definition = obj.field(name)
            if definition is None or not definition.unique or _is_empty(value):
                continue
            clash = self.conn.execute(
                f'SELECT "Id" FROM {quote(obj.name)} WHERE {quote(definition.name)} = ? '
                'AND "IsDeleted" = 0 AND "Id" IS NOT ?',
                (value, record_id),
            ).fetchone()
            if clash is not None:
                raise SalesforceError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {definition.name} duplicates value on record "
                    f"with id: {clash[0]}",
                    fields=[definition.name],
                )

    def _insert(self, object_name: str, values: dict[str, Any]) -> str:
        self._check_unique(object_name, values)
        [record_id] = system_insert(
            self.org, object_name, [values], now=self.now, user_id=self.session.user_id
        )
        return record_id

    def _update(self, object_name: str, record_id: str, values: dict[str, Any]) -> None:
        """A user-driven change: the audit fields move even when no value did."""
        self._check_unique(object_name, values, record_id)
        obj = self.org.schema.get(object_name)
        assert obj is not None
        self.org.store.update_row(
            self.conn,
            obj,
            record_id,
            {
                **values,
                "LastModifiedDate": self.now,
                "LastModifiedById": self.session.user_id,
                "SystemModstamp": self.now,
            },
        )


def _fill_empty(target: dict[str, Any], mapped: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in mapped.items()
        if not _is_empty(value) and _is_empty(target.get(name))
    }
