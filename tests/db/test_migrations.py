from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from leadsync.db import LeadDatabase
from leadsync.db.migrate import current_revision, head_revision
from leadsync.db.schema import metadata

EXPECTED_TABLES = {
    "persons",
    "companies",
    "owners",
    "opportunities",
    "opportunity_roles",
    "campaigns",
    "campaign_statuses",
    "campaign_members",
    "custom_object_records",
    "activities",
    "sync_links",
    "sync_changes",
    "sync_watermarks",
    "sync_runs",
    "sync_errors",
    "sync_fields",
    "sync_conflicts",
    "sync_lock",
}


def test_open_creates_every_table_at_head(database_url: str) -> None:
    with LeadDatabase.open(database_url) as db, db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == EXPECTED_TABLES | {"alembic_version"}
        assert set(metadata.tables) == EXPECTED_TABLES
        assert current_revision(conn) == head_revision()


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect them
def test_migrations_match_the_schema_module(database_url: str) -> None:
    with LeadDatabase.open(database_url) as db, db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_reopening_is_idempotent(database_url: str) -> None:
    LeadDatabase.open(database_url).close()
    with LeadDatabase.open(database_url) as db:
        with db.engine.connect() as conn:
            assert current_revision(conn) == head_revision()
        assert db.find_persons(limit=1) is not None


def test_email_lookups_use_the_lower_email_index(database_url: str) -> None:
    with LeadDatabase.open(database_url) as db, db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id FROM persons WHERE lower(email) = 'a@example.com'"
                )
            ).all()
            assert "ix_persons_email_lower" in str(plan)
        else:
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("persons")}
            assert "ix_persons_email_lower" in indexes
