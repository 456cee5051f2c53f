from __future__ import annotations

import pytest
from sqlalchemy import text

from leadsync.db import LeadDatabase, database_url
from leadsync.errors import DatabaseError, LeadsyncError


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///leadsync.db", "sqlite"),
        ("postgresql://u@localhost/db", "postgresql+psycopg"),
        ("postgres://u@localhost/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@localhost/db", "postgresql+psycopg"),
    ],
)
def test_urls_are_normalised(given: str, driver: str) -> None:
    assert database_url(given).drivername == driver


def test_unsupported_or_bad_urls_are_refused_without_the_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        database_url("mysql://user:s3cret@localhost/db")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(LeadsyncError):
        database_url("not a url")


def test_unreachable_server_is_a_database_error_without_the_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        LeadDatabase.open("postgresql://user:s3cret@127.0.0.1:1/nowhere")
    assert "s3cret" not in str(caught.value)


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: object) -> None:
    with LeadDatabase.open(f"sqlite:///{tmp_path}/x.db") as db, db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_analyze_gives_the_planner_statistics(database: LeadDatabase) -> None:
    for n in range(50):
        database.create_person({"email": f"p{n}@example.com", "lastName": f"P{n}"})
    database.analyze()
    with database.transaction() as conn:
        if conn.dialect.name == "postgresql":
            analyzed = conn.scalar(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'persons'")
            )
            assert analyzed is not None
        else:
            tables = conn.scalars(text("SELECT tbl FROM sqlite_stat1")).all()
            assert "persons" in tables
