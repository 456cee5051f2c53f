"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sfdc_id", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("parent_sfdc_id", sa.String(length=18), nullable=True),
        sa.Column("sfdc_owner_id", sa.String(length=18), nullable=True),
        sa.Column("sfdc_is_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("sfdc_id", name=op.f("uq_campaigns_sfdc_id")),
    )
    op.create_table(
        "companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sfdc_account_id", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("industry", sa.String(), nullable=True),
        sa.Column("annual_revenue", sa.Float(), nullable=True),
        sa.Column("number_of_employees", sa.Integer(), nullable=True),
        sa.Column("website", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("billing_street", sa.Text(), nullable=True),
        sa.Column("billing_city", sa.String(), nullable=True),
        sa.Column("billing_state", sa.String(), nullable=True),
        sa.Column("billing_postal_code", sa.String(), nullable=True),
        sa.Column("billing_country", sa.String(), nullable=True),
        sa.Column("sfdc_owner_id", sa.String(length=18), nullable=True),
        sa.Column("sfdc_is_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("sfdc_account_id", name=op.f("uq_companies_sfdc_account_id")),
    )
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sfdc_id", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("stage_name", sa.String(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("is_closed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_won", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sfdc_account_id", sa.String(length=18), nullable=True),
        sa.Column("sfdc_owner_id", sa.String(length=18), nullable=True),
        sa.Column("sfdc_is_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint("sfdc_id", name=op.f("uq_opportunities_sfdc_id")),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunities_sfdc_account_id"), ["sfdc_account_id"], unique=False
        )

    op.create_table(
        "owners",
        sa.Column("sfdc_id", sa.String(length=18), nullable=False),
        sa.Column("is_queue", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sfdc_id", name=op.f("pk_owners")),
    )
    op.create_table(
        "sync_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sfdc_object", sa.String(length=80), nullable=False),
        sa.Column("api_name", sa.String(), nullable=False),
        sa.Column("json_name", sa.String(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("custom", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_fields")),
        sa.UniqueConstraint(
            "sfdc_object", "api_name", name=op.f("uq_sync_fields_sfdc_object_api_name")
        ),
    )
    with op.batch_alter_table("sync_fields", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_fields_json_name"), ["json_name"], unique=False)

    op.create_table(
        "sync_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sfdc_object", sa.String(length=80), nullable=False),
        sa.Column("sfdc_id", sa.String(length=18), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("sfdc_modstamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_links")),
        sa.UniqueConstraint(
            "sfdc_object", "sfdc_id", name=op.f("uq_sync_links_sfdc_object_sfdc_id")
        ),
    )
    with op.batch_alter_table("sync_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_links_entity_entity_id"), ["entity", "entity_id"], unique=False
        )

    op.create_table(
        "sync_lock",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_lock")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sfdc_object", sa.String(length=80), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("new_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("api_calls", sa.Integer(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_started_at"), ["started_at"], unique=False)

    op.create_table(
        "sync_watermarks",
        sa.Column("sfdc_object", sa.String(length=80), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("copy_cursor", sa.String(length=18), nullable=True),
        sa.Column("copy_done", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sfdc_object", name=op.f("pk_sync_watermarks")),
    )
    op.create_table(
        "campaign_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("has_responded", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=True),
        sa.Column("sfdc_id", sa.String(length=18), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_statuses_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_statuses")),
        sa.UniqueConstraint(
            "campaign_id", "label", name=op.f("uq_campaign_statuses_campaign_id_label")
        ),
        sa.UniqueConstraint("sfdc_id", name=op.f("uq_campaign_statuses_sfdc_id")),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("salutation", sa.String(), nullable=True),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=True),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("mobile_phone", sa.String(), nullable=True),
        sa.Column("lead_source", sa.String(), nullable=True),
        sa.Column("lead_status", sa.String(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("city", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("postal_code", sa.String(), nullable=True),
        sa.Column("country", sa.String(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unsubscribed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("do_not_call", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("lead_score", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("sfdc_type", sa.String(length=16), nullable=True),
        sa.Column("sfdc_lead_id", sa.String(length=18), nullable=True),
        sa.Column("sfdc_contact_id", sa.String(length=18), nullable=True),
        sa.Column("sfdc_owner_id", sa.String(length=18), nullable=True),
        sa.Column("sfdc_is_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sfdc_type IN ('Lead', 'Contact')", name=op.f("ck_persons_sfdc_type")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_persons_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("sfdc_contact_id", name=op.f("uq_persons_sfdc_contact_id")),
        sa.UniqueConstraint("sfdc_lead_id", name=op.f("uq_persons_sfdc_lead_id")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_company_id"), ["company_id"], unique=False)
        batch_op.create_index("ix_persons_email_lower", [sa.text("lower(email)")], unique=False)

    op.create_table(
        "sync_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("local_only", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_changes_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_changes")),
    )
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_changes_entity_entity_id"), ["entity", "entity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sync_changes_processed_at_id"), ["processed_at", "id"], unique=False
        )

    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("sfdc_id", sa.String(length=18), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_activities_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activities_person_id_at_id"), ["person_id", "at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_activities_sfdc_id"), ["sfdc_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_activities_type"), ["type"], unique=False)

    op.create_table(
        "campaign_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("sfdc_id", sa.String(length=18), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_members_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_campaign_members_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_members")),
        sa.UniqueConstraint(
            "campaign_id", "person_id", name=op.f("uq_campaign_members_campaign_id_person_id")
        ),
        sa.UniqueConstraint("sfdc_id", name=op.f("uq_campaign_members_sfdc_id")),
    )
    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_members_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "custom_object_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_name", sa.String(length=80), nullable=False),
        sa.Column("sfdc_id", sa.String(length=18), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("sfdc_is_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_custom_object_records_company_id_companies"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_custom_object_records_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_object_records")),
        sa.UniqueConstraint(
            "object_name", "sfdc_id", name=op.f("uq_custom_object_records_object_name_sfdc_id")
        ),
    )
    with op.batch_alter_table("custom_object_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custom_object_records_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_custom_object_records_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "opportunity_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sfdc_id", sa.String(length=18), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=True),
        sa.Column("is_primary", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_roles_opportunity_id_opportunities"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_opportunity_roles_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_roles")),
        sa.UniqueConstraint(
            "opportunity_id",
            "person_id",
            "role",
            name=op.f("uq_opportunity_roles_opportunity_id_person_id_role"),
        ),
        sa.UniqueConstraint("sfdc_id", name=op.f("uq_opportunity_roles_sfdc_id")),
    )
    with op.batch_alter_table("opportunity_roles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunity_roles_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("sfdc_object", sa.String(length=80), nullable=False),
        sa.Column("sfdc_id", sa.String(length=18), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("baseline_value", sa.JSON(), nullable=True),
        sa.Column("local_value", sa.JSON(), nullable=True),
        sa.Column("salesforce_value", sa.JSON(), nullable=True),
        sa.Column("winner", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_sync_conflicts_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_conflicts_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_conflicts")),
    )
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_conflicts_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "sync_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("sfdc_object", sa.String(length=80), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("sfdc_id", sa.String(length=18), nullable=True),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("level IN ('record', 'job')", name=op.f("ck_sync_errors_level")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_sync_errors_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_errors_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_errors")),
    )
    with op.batch_alter_table("sync_errors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_errors_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_errors_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_errors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_errors_person_id"))
        batch_op.drop_index(batch_op.f("ix_sync_errors_at"))

    op.drop_table("sync_errors")
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_conflicts_person_id"))

    op.drop_table("sync_conflicts")
    with op.batch_alter_table("opportunity_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_roles_person_id"))

    op.drop_table("opportunity_roles")
    with op.batch_alter_table("custom_object_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_object_records_person_id"))
        batch_op.drop_index(batch_op.f("ix_custom_object_records_company_id"))

    op.drop_table("custom_object_records")
    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_members_person_id"))

    op.drop_table("campaign_members")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activities_type"))
        batch_op.drop_index(batch_op.f("ix_activities_sfdc_id"))
        batch_op.drop_index(batch_op.f("ix_activities_person_id_at_id"))

    op.drop_table("activities")
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_changes_processed_at_id"))
        batch_op.drop_index(batch_op.f("ix_sync_changes_entity_entity_id"))

    op.drop_table("sync_changes")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index("ix_persons_email_lower")
        batch_op.drop_index(batch_op.f("ix_persons_company_id"))

    op.drop_table("persons")
    op.drop_table("campaign_statuses")
    op.drop_table("sync_watermarks")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_started_at"))

    op.drop_table("sync_runs")
    op.drop_table("sync_lock")
    with op.batch_alter_table("sync_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_links_entity_entity_id"))

    op.drop_table("sync_links")
    with op.batch_alter_table("sync_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_fields_json_name"))

    op.drop_table("sync_fields")
    op.drop_table("owners")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunities_sfdc_account_id"))

    op.drop_table("opportunities")
    op.drop_table("companies")
    op.drop_table("campaigns")
