"""Engines for the lead database: URL handling and per-dialect connection setup.

SQLite (the default, `sqlite:///leadsync.db`) gets foreign keys, WAL (synchronous NORMAL), a
64 MB page cache and a busy timeout on every connection, and leadsync emits its own BEGIN
(pysqlite's implicit transactions would start only at the first write, so a read-then-write could
act on a stale read). Write transactions open
with BEGIN IMMEDIATE, so concurrent writers queue instead of failing at commit.
PostgreSQL is reached through psycopg 3 (`postgresql://` is rewritten to `postgresql+psycopg://`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import DatabaseError

DEFAULT_URL = "sqlite:///leadsync.db"
WRITE = "leadsync_write"  # execution option: this transaction will write
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 64 * 1024  # page cache per connection


def database_url(url: str | URL) -> URL:
    """The SQLAlchemy URL for a leadsync database URL, refusing unsupported databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"not a database URL: {url!r}") from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed
    raise DatabaseError(
        f"unsupported database {parsed.drivername!r} in "
        f"{parsed.render_as_string(hide_password=True)}: use sqlite:/// or postgresql://"
    )


def make_engine(url: str | URL) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        _setup_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # leadsync emits BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # In WAL mode NORMAL never corrupts the database; a power cut may lose the last
        # transactions, which the sync re-reads (watermarks move with the data they cover).
        # It saves an fsync per commit: an initial copy commits once per batch.
        cursor.execute("PRAGMA synchronous = NORMAL")
        # A million-person copy keeps inserting into the same indexes; the default 2 MB page
        # cache makes every index insert a page read.
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
