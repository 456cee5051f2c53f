"""Alembic environment: always run by `leadsync.db.migrate` with a connection in hand."""

from __future__ import annotations

from alembic import context

from leadsync.db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run leadsync migrations through leadsync.db.migrate, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
