"""Alembic migrations of the lead database, run programmatically (see `..migrate`)."""
