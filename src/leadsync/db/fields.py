"""The person field registry: one entry per standard person field.

Each entry gives the JSON name (Marketo's REST names), where the value is stored, its type,
the Salesforce API field it maps to on Lead, Contact and Account, and its group:

- person: stored on `persons`, two-way with Lead and Contact;
- company: stored on `companies` and shown on every person of the company (from Account for
  contacts, from the lead's own company fields for leads);
- owner: read-only, joined from `owners` (Lead/Contact OwnerId, Account OwnerId);
- sync: the sync's own bookkeeping, written only by the sync.

This table is the default field mapping. Custom Salesforce fields are not listed here: they keep
their API names as JSON names unless mapped (see `mapping.py`) and live in the `custom` JSON
column (see `schema.py` for why).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any


class Group(enum.StrEnum):
    PERSON = "person"
    COMPANY = "company"
    OWNER = "owner"
    SYNC = "sync"


class FieldType(enum.StrEnum):
    STRING = "string"
    TEXT = "text"
    EMAIL = "email"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    FLOAT = "float"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True)
class PersonField:
    """One standard person field. `column` names the column in the group's table."""

    name: str
    column: str
    type: FieldType
    group: Group
    lead: str | None = None
    contact: str | None = None
    account: str | None = None

    @property
    def editable(self) -> bool:
        """Whether a local edit may set it (owner and sync fields change only through sync)."""
        return self.group in (Group.PERSON, Group.COMPANY) and self.name != "id"


def _p(
    name: str,
    column: str,
    type_: FieldType,
    lead: str | None,
    contact: str | None,
) -> PersonField:
    return PersonField(name, column, type_, Group.PERSON, lead, contact)


def _c(name: str, column: str, type_: FieldType, lead: str | None, account: str) -> PersonField:
    return PersonField(name, column, type_, Group.COMPANY, lead, None, account)


def _o(name: str, column: str, lead: str | None, contact: str | None) -> PersonField:
    return PersonField(name, column, FieldType.STRING, Group.OWNER, lead, contact)


def _s(
    name: str, column: str, type_: FieldType, lead: str | None = None, contact: str | None = None
) -> PersonField:
    return PersonField(name, column, type_, Group.SYNC, lead, contact)


S, T, B = FieldType.STRING, FieldType.TEXT, FieldType.BOOLEAN

PERSON_FIELDS: tuple[PersonField, ...] = (
    _s("id", "id", FieldType.INTEGER),
    _p("email", "email", FieldType.EMAIL, "Email", "Email"),
    _p("salutation", "salutation", S, "Salutation", "Salutation"),
    _p("firstName", "first_name", S, "FirstName", "FirstName"),
    _p("lastName", "last_name", S, "LastName", "LastName"),
    _p("title", "title", S, "Title", "Title"),
    _p("phone", "phone", S, "Phone", "Phone"),
    _p("mobilePhone", "mobile_phone", S, "MobilePhone", "MobilePhone"),
    _p("leadSource", "lead_source", S, "LeadSource", "LeadSource"),
    _p("leadStatus", "lead_status", S, "Status", None),
    _p("address", "address", T, "Street", "MailingStreet"),
    _p("city", "city", S, "City", "MailingCity"),
    _p("state", "state", S, "State", "MailingState"),
    _p("postalCode", "postal_code", S, "PostalCode", "MailingPostalCode"),
    _p("country", "country", S, "Country", "MailingCountry"),
    _p("description", "description", T, "Description", "Description"),
    _p("unsubscribed", "unsubscribed", B, "HasOptedOutOfEmail", "HasOptedOutOfEmail"),
    _p("doNotCall", "do_not_call", B, "DoNotCall", "DoNotCall"),
    _p(
        "leadScore", "lead_score", FieldType.INTEGER, "mkto71_Lead_Score__c", "mkto71_Lead_Score__c"
    ),
    _c("company", "name", S, "Company", "Name"),
    _c("industry", "industry", S, "Industry", "Industry"),
    _c("annualRevenue", "annual_revenue", FieldType.FLOAT, "AnnualRevenue", "AnnualRevenue"),
    _c(
        "numberOfEmployees",
        "number_of_employees",
        FieldType.INTEGER,
        "NumberOfEmployees",
        "NumberOfEmployees",
    ),
    _c("website", "website", S, "Website", "Website"),
    _c("mainPhone", "phone", S, None, "Phone"),
    _c("accountType", "type", S, None, "Type"),
    _c("billingStreet", "billing_street", T, None, "BillingStreet"),
    _c("billingCity", "billing_city", S, None, "BillingCity"),
    _c("billingState", "billing_state", S, None, "BillingState"),
    _c("billingPostalCode", "billing_postal_code", S, None, "BillingPostalCode"),
    _c("billingCountry", "billing_country", S, None, "BillingCountry"),
    _o("leadOwnerFirstName", "first_name", "Owner.FirstName", "Owner.FirstName"),
    _o("leadOwnerLastName", "last_name", "Owner.LastName", "Owner.LastName"),
    _o("leadOwnerEmail", "email", "Owner.Email", "Owner.Email"),
    _o("leadOwnerPhone", "phone", "Owner.Phone", "Owner.Phone"),
    _o("leadOwnerTitle", "title", "Owner.Title", "Owner.Title"),
    _o("accountOwnerFirstName", "first_name", None, "Account.Owner.FirstName"),
    _o("accountOwnerLastName", "last_name", None, "Account.Owner.LastName"),
    _o("accountOwnerEmail", "email", None, "Account.Owner.Email"),
    _s("sfdcType", "sfdc_type", S),
    _s("sfdcId", "sfdc_id", S),
    _s("sfdcLeadId", "sfdc_lead_id", S, "Id", None),
    _s("sfdcContactId", "sfdc_contact_id", S, None, "Id"),
    _s("sfdcAccountId", "sfdc_account_id", S, None, "AccountId"),
    _s("sfdcOwnerId", "sfdc_owner_id", S, "OwnerId", "OwnerId"),
    _s("sfdcIsDeleted", "sfdc_is_deleted", B, "IsDeleted", "IsDeleted"),
    _s("createdAt", "created_at", FieldType.DATETIME),
    _s("updatedAt", "updated_at", FieldType.DATETIME),
)

BY_NAME: dict[str, PersonField] = {f.name: f for f in PERSON_FIELDS}
SALES_OWNER_FIELDS = tuple(f for f in PERSON_FIELDS if f.name.startswith("leadOwner"))
ACCOUNT_OWNER_FIELDS = tuple(f for f in PERSON_FIELDS if f.name.startswith("accountOwner"))

# Salesforce describe types -> the local type used to validate custom field values.
SALESFORCE_TYPES: dict[str, FieldType] = {
    "boolean": FieldType.BOOLEAN,
    "int": FieldType.INTEGER,
    "double": FieldType.FLOAT,
    "currency": FieldType.FLOAT,
    "percent": FieldType.FLOAT,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "email": FieldType.EMAIL,
    "textarea": FieldType.TEXT,
}


def type_of_salesforce(sf_type: str) -> FieldType:
    """The local type for a Salesforce describe type; anything else is kept as a string."""
    return SALESFORCE_TYPES.get(sf_type.lower(), FieldType.STRING)


# -- Value validation -----------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class BadValue(ValueError):
    """A value does not fit a field's type (the caller adds the record and field)."""


def coerce(type_: FieldType, value: Any) -> Any:
    """The value as stored for `type_`, accepting strict text forms (CLI and HTTP input).

    None clears a field. Dates and datetimes are stored as ISO 8601 text in JSON columns, so
    they come back as text here; the standard datetime columns are written by leadsync only.
    """
    if value is None:
        return None
    match type_:
        case FieldType.BOOLEAN:
            return _boolean(value)
        case FieldType.INTEGER:
            return _integer(value)
        case FieldType.FLOAT:
            return _float(value)
        case FieldType.DATE:
            return _date(value)
        case FieldType.DATETIME:
            return _datetime(value)
        case FieldType.EMAIL:
            text = _string(value).strip()
            if text and not _EMAIL.match(text):
                raise BadValue(f"{text!r} is not an email address")
            return text or None
        case _:
            return _string(value)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise BadValue(f"expected text, got {type(value).__name__}")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise BadValue(f"expected true or false, got {value!r}")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise BadValue(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise BadValue(f"expected an integer, got {value!r}")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise BadValue(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise BadValue(f"expected a number, got {value!r}")


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise BadValue(f"expected a date, got a datetime {value!r}")
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(_string(value).strip()).isoformat()
    except ValueError:
        raise BadValue(f"expected a date (YYYY-MM-DD), got {value!r}") from None


def _datetime(value: Any) -> str:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(_string(value).strip())
        except ValueError:
            raise BadValue(f"expected an ISO 8601 datetime, got {value!r}") from None
    if moment.tzinfo is None:
        raise BadValue(f"a datetime needs a timezone, got {moment.isoformat()!r}")
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
