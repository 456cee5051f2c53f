"""The lead database schema (SQLAlchemy Core). Alembic owns changes to it: see `migrations/`.

Custom Salesforce fields are stored in a JSON column (`persons.custom`, `companies.custom`,
`custom_object_records.fields`) rather than added as columns with ALTER TABLE at run time:
- the schema stays owned by Alembic revisions, identical on SQLite and PostgreSQL, and never
  changed by a sync cycle behind the migrations' back;
- a field that disappears from describe (deleted, or hidden by field-level security) simply
  stops syncing and keeps its values, with no column to drop or to keep half-alive;
- a field's type change in Salesforce does not need a table rebuild (SQLite) or a lock (PG).
Which custom fields exist, with their type and visibility, is recorded in `sync_fields`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)

from .types import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

SFDC_ID = String(18)
OBJECT_NAME = String(80)


def _timestamps() -> list[Column[object]]:
    return [
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    ]


def _flag(name: str) -> Column[bool]:
    return Column(name, Boolean, nullable=False, server_default=false())


# -- Salesforce-owned reference data ------------------------------------------------------

owners = Table(
    "owners",
    metadata,
    Column("sfdc_id", SFDC_ID, primary_key=True),  # a User or a Queue (Group) id
    _flag("is_queue"),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("first_name", String),
    Column("last_name", String),
    Column("email", String),
    Column("phone", String),
    Column("title", String),
    Column("updated_at", UtcDateTime, nullable=False),
)

companies = Table(
    "companies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sfdc_account_id", SFDC_ID, unique=True),  # NULL: a lead's own company fields
    Column("name", String),
    Column("industry", String),
    Column("annual_revenue", Float),
    Column("number_of_employees", Integer),
    Column("website", String),
    Column("phone", String),
    Column("type", String),
    Column("billing_street", Text),
    Column("billing_city", String),
    Column("billing_state", String),
    Column("billing_postal_code", String),
    Column("billing_country", String),
    Column("sfdc_owner_id", SFDC_ID),  # owners.sfdc_id; no FK: owners may arrive later
    _flag("sfdc_is_deleted"),
    Column("custom", JSON, nullable=False),
    *_timestamps(),
)

# -- Persons --------------------------------------------------------------------------------

persons = Table(
    "persons",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String),
    Column("salutation", String),
    Column("first_name", String),
    Column("last_name", String),
    Column("title", String),
    Column("phone", String),
    Column("mobile_phone", String),
    Column("lead_source", String),
    Column("lead_status", String),
    Column("address", Text),
    Column("city", String),
    Column("state", String),
    Column("postal_code", String),
    Column("country", String),
    Column("description", Text),
    _flag("unsubscribed"),
    _flag("do_not_call"),
    Column("lead_score", Integer),
    Column("company_id", Integer, ForeignKey("companies.id"), index=True),
    Column("sfdc_type", String(16)),
    Column("sfdc_lead_id", SFDC_ID, unique=True),
    Column("sfdc_contact_id", SFDC_ID, unique=True),
    Column("sfdc_owner_id", SFDC_ID),  # owners.sfdc_id; no FK: owners may arrive later
    _flag("sfdc_is_deleted"),
    Column("custom", JSON, nullable=False),
    *_timestamps(),
    CheckConstraint("sfdc_type IN ('Lead', 'Contact')", name="sfdc_type"),
)
# Emails are looked up case-insensitively; several persons may share one (as in Salesforce).
persons_email_index = Index("ix_persons_email_lower", func.lower(persons.c.email))
# Indexes a large initial copy drops and builds again at its end: emails arrive in no order,
# so each batch would rewrite pages all over this index (at a million persons, a third of
# the copy's time); built once from the finished table, it costs a sort.
COPY_DEFERRED_INDEXES = (persons_email_index,)

activities = Table(
    "activities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", Integer, ForeignKey("persons.id"), nullable=False),
    Column("type", String(64), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("sfdc_id", SFDC_ID, index=True),  # Task/Event id for "SFDC Activity"
    Index(None, "person_id", "at", "id"),
)

# -- Opportunities, campaigns, custom objects (Salesforce -> leadsync) ----------------------

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sfdc_id", SFDC_ID, nullable=False, unique=True),
    Column("name", String),
    Column("stage_name", String),
    Column("amount", Float),
    Column("probability", Float),
    Column("close_date", Date),
    _flag("is_closed"),
    _flag("is_won"),
    Column("sfdc_account_id", SFDC_ID, index=True),
    Column("sfdc_owner_id", SFDC_ID),
    _flag("sfdc_is_deleted"),
    Column("fields", JSON, nullable=False),  # every other synced field, by API name
    *_timestamps(),
)

opportunity_roles = Table(
    "opportunity_roles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sfdc_id", SFDC_ID, nullable=False, unique=True),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id"), nullable=False),
    Column("person_id", Integer, ForeignKey("persons.id"), nullable=False, index=True),
    Column("role", String),
    _flag("is_primary"),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("opportunity_id", "person_id", "role"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sfdc_id", SFDC_ID, unique=True),
    Column("name", String, nullable=False),
    Column("type", String),
    Column("status", String),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("parent_sfdc_id", SFDC_ID),
    Column("sfdc_owner_id", SFDC_ID),
    _flag("sfdc_is_deleted"),
    Column("fields", JSON, nullable=False),
    *_timestamps(),
)

campaign_statuses = Table(  # CampaignMemberStatus: the statuses a member may have
    "campaign_statuses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("label", String, nullable=False),
    _flag("is_default"),
    _flag("has_responded"),
    Column("sort_order", Integer),
    Column("sfdc_id", SFDC_ID, unique=True),
    UniqueConstraint("campaign_id", "label"),
)

campaign_members = Table(
    "campaign_members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("person_id", Integer, ForeignKey("persons.id"), nullable=False, index=True),
    Column("status", String),
    Column("sfdc_id", SFDC_ID, unique=True),
    *_timestamps(),
    UniqueConstraint("campaign_id", "person_id"),
)

custom_object_records = Table(
    "custom_object_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("object_name", OBJECT_NAME, nullable=False),
    Column("sfdc_id", SFDC_ID, nullable=False),
    Column("person_id", Integer, ForeignKey("persons.id"), index=True),
    Column("company_id", Integer, ForeignKey("companies.id"), index=True),
    _flag("sfdc_is_deleted"),
    Column("fields", JSON, nullable=False),
    *_timestamps(),
    UniqueConstraint("object_name", "sfdc_id"),
)

# -- Sync state -----------------------------------------------------------------------------

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sfdc_object", OBJECT_NAME, nullable=False),
    Column("operation", String(40), nullable=False),  # "Pull updates", "Push updates", ...
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("ended_at", UtcDateTime),
    Column("status", String(20), nullable=False),  # In Process, Succeeded, Failed, ...
    *(
        Column(f"{name}_count", Integer, nullable=False, server_default="0")
        for name in ("new", "updated", "deleted", "failed", "skipped")
    ),
    Column("api_calls", Integer, nullable=False, server_default="0"),
    Column("message", Text),
)

sync_links = Table(  # a local record <-> a Salesforce record, with the last agreed values
    "sync_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sfdc_object", OBJECT_NAME, nullable=False),
    Column("sfdc_id", SFDC_ID, nullable=False),
    Column("entity", String(32), nullable=False),  # "person", "company", "campaign_member", ...
    Column("entity_id", Integer, nullable=False),
    Column("baseline", JSON, nullable=False),  # {API name: last value both sides agreed on}
    Column("sfdc_modstamp", UtcDateTime),
    *_timestamps(),
    UniqueConstraint("sfdc_object", "sfdc_id"),
    Index(None, "entity", "entity_id"),
)

sync_changes = Table(  # the outbox: every local edit, per field, written with the edit
    "sync_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity", String(32), nullable=False),  # "person" or "company"
    Column("entity_id", Integer, nullable=False),
    Column("field", String, nullable=False),  # JSON name
    Column("old", JSON),
    Column("new", JSON),
    Column("at", UtcDateTime, nullable=False),
    Column("source", String(32), nullable=False),
    _flag("local_only"),  # never pushed (company fields of an account)
    Column("processed_at", UtcDateTime),
    Column("run_id", Integer, ForeignKey("sync_runs.id")),
    Index(None, "entity", "entity_id"),
    Index(None, "processed_at", "id"),
)

sync_watermarks = Table(
    "sync_watermarks",
    metadata,
    Column("sfdc_object", OBJECT_NAME, primary_key=True),
    Column("watermark", UtcDateTime),  # SystemModstamp reached by the last stored batch
    Column("copy_cursor", SFDC_ID),  # last Id stored by a resumable initial copy
    _flag("copy_done"),
    Column("updated_at", UtcDateTime, nullable=False),
)

sync_errors = Table(
    "sync_errors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("level", String(10), nullable=False),  # "record" or "job"
    Column("sfdc_object", OBJECT_NAME),
    Column("person_id", Integer, ForeignKey("persons.id"), index=True),
    Column("sfdc_id", SFDC_ID),
    Column("code", String(80), nullable=False),
    Column("message", Text, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("run_id", Integer, ForeignKey("sync_runs.id")),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("next_retry_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    CheckConstraint("level IN ('record', 'job')", name="level"),
)

sync_fields = Table(  # the fields describe showed the sync user, per object
    "sync_fields",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sfdc_object", OBJECT_NAME, nullable=False),
    Column("api_name", String, nullable=False),
    Column("json_name", String, nullable=False, index=True),
    Column("type", String(40), nullable=False),  # Salesforce describe type
    _flag("custom"),
    Column("visible", Boolean, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    UniqueConstraint("sfdc_object", "api_name"),
)

sync_conflicts = Table(
    "sync_conflicts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("person_id", Integer, ForeignKey("persons.id"), index=True),
    Column("sfdc_object", OBJECT_NAME, nullable=False),
    Column("sfdc_id", SFDC_ID, nullable=False),
    Column("field", String, nullable=False),
    Column("baseline_value", JSON),
    Column("local_value", JSON),
    Column("salesforce_value", JSON),
    Column("winner", String(16), nullable=False),  # "leadsync" or "salesforce"
    Column("rule", String(40), nullable=False),
    Column("run_id", Integer, ForeignKey("sync_runs.id")),
)

sync_lock = Table(  # one row per lock name: "one sync at a time"
    "sync_lock",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("holder", String),
    Column("acquired_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
)
