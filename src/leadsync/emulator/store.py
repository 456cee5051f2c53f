"""SQLite storage for the emulated org: one table per sObject, plus the org's own state.

One writer connection guarded by a lock serialises writes. Readers get their own connections,
so a query page being read sees the snapshot its read transaction started with (WAL mode) while
writes go on. An in-memory org is a temporary file, so that it gets the same snapshots.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .ids import make_id
from .schema import FieldDef, Schema, SObjectDef
from .values import note_text_with_nul

_COLUMN_TYPES = {
    "boolean": "INTEGER",
    "int": "INTEGER",
    "long": "INTEGER",
    "datetime": "INTEGER",
    "double": "REAL",
    "currency": "REAL",
    "percent": "REAL",
}

_ORG_TABLES = """
CREATE TABLE IF NOT EXISTS _emu_sequence (prefix TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS _emu_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS _emu_credentials (
    user_id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, salt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS _emu_refresh_tokens (
    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
    created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS _emu_api_usage (day TEXT PRIMARY KEY, used INTEGER NOT NULL);
"""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_affinity(definition: FieldDef) -> str:
    """The SQLite type of the field's column: a TEXT column holds only text or NULL."""
    return _COLUMN_TYPES.get(definition.type, "TEXT")


def column_sql(definition: FieldDef) -> str:
    if definition.name == "Id":
        return '"Id" TEXT PRIMARY KEY'
    sql_type = column_affinity(definition)
    collate = " COLLATE NOCASE" if definition.is_text else ""
    return f"{quote(definition.name)} {sql_type}{collate}"


# Lookups that are never filtered on in bulk: indexing them would only slow every insert.
_UNINDEXED_REFERENCES = frozenset(
    {
        "CreatedById",
        "LastModifiedById",
        "MasterRecordId",
        "ConvertedAccountId",
        "ConvertedContactId",
        "ConvertedOpportunityId",
        "OwnerId",
        "ProfileId",
        "ManagerId",
        "ReportsToId",
        "ParentId",
    }
)


def indexed_fields(obj: SObjectDef) -> Iterator[FieldDef]:
    """Fields worth an index: child lookups (cascades, sub-queries), keys and Email."""
    for definition in obj.stored_fields():
        if definition.name == "Id":
            continue
        child_lookup = (
            definition.type == "reference" and definition.name not in _UNINDEXED_REFERENCES
        )
        if (
            child_lookup
            or definition.external_id
            or definition.unique
            or definition.name == "Email"
        ):
            yield definition


class Store:
    """The org's SQLite database."""

    def __init__(self, path: str | None, schema: Schema) -> None:
        self._temporary = path is None or path == ":memory:"
        if self._temporary:
            handle, path = tempfile.mkstemp(prefix="leadsync-emulator-", suffix=".db")
            os.close(handle)
        assert path is not None
        if not self._temporary and os.path.exists(path) and os.path.getsize(path) > 0:
            note_text_with_nul()  # an org file from before: its text is not vouched for
        self.path = path
        self.schema = schema
        self._write_lock = threading.RLock()
        self._writer = self._connect()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []  # every thread's, to close them all
        self._closed = False
        self._writer.executescript(_ORG_TABLES)
        self.sync_tables()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        # A temporary org dies with its process, so it need not survive a power cut.
        conn.execute("PRAGMA synchronous=" + ("OFF" if self._temporary else "NORMAL"))
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    # -- schema -----------------------------------------------------------------------------

    def sync_tables(self) -> None:
        """Create missing tables, columns and indexes for every object in the schema."""
        with self.write() as conn:
            for obj in self.schema:
                self._sync_table(conn, obj)

    def _sync_table(self, conn: sqlite3.Connection, obj: SObjectDef) -> None:
        table = quote(obj.name)
        existing = {row[1].lower() for row in conn.execute(f"PRAGMA table_info({table})")}
        if not existing:
            columns = ", ".join(column_sql(f) for f in obj.stored_fields())
            conn.execute(f"CREATE TABLE {table} ({columns})")
        else:
            for definition in obj.stored_fields():
                if definition.name.lower() not in existing:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column_sql(definition)}")
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {quote('ix_' + obj.name + '_modstamp')} "
            f'ON {table} ("SystemModstamp", "Id")'
        )
        for definition in indexed_fields(obj):
            index = quote(f"ix_{obj.name}_{definition.name}")
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({quote(definition.name)})"
            )

    # -- connections ------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outer one (savepoints inside).

        Waits for the writer lock: never call it on the event loop (see `try_write`), and
        never wait, while inside, for another thread that may need it.
        """
        with self._write_lock:
            conn = self._writer
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                self._abandon(conn)
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (deferred constraint, disk full) leaves the transaction
                # open; every later write() would join it and never commit.
                self._abandon(conn)
                raise

    @contextlib.contextmanager
    def try_write(self) -> Iterator[sqlite3.Connection | None]:
        """Like `write`, but yields None at once when another thread holds the writer."""
        if not self._write_lock.acquire(blocking=False):
            yield None
            return
        try:
            with self.write() as conn:
                yield conn
        finally:
            self._write_lock.release()

    @staticmethod
    def _abandon(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def savepoint(self, conn: sqlite3.Connection, name: str = "sp") -> Iterator[None]:
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit: every statement sees the latest data)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
            with self._write_lock:
                self._readers.append(conn)
        return conn

    def snapshot(self) -> sqlite3.Connection:
        """A new connection for a long read that must not see later writes.

        The caller runs `BEGIN` and its query, then reads at leisure, and closes it.
        """
        conn = self._connect()
        conn.execute("PRAGMA query_only=1")
        return conn

    # -- rows -------------------------------------------------------------------------------

    def allocate_ids(self, conn: sqlite3.Connection, prefix: str, count: int) -> list[str]:
        row = conn.execute("SELECT next FROM _emu_sequence WHERE prefix = ?", (prefix,)).fetchone()
        start = row[0] if row else 1
        conn.execute(
            "INSERT INTO _emu_sequence (prefix, next) VALUES (?, ?) "
            "ON CONFLICT(prefix) DO UPDATE SET next = excluded.next",
            (prefix, start + count),
        )
        return [make_id(prefix, n) for n in range(start, start + count)]

    def insert_rows(
        self, conn: sqlite3.Connection, obj: SObjectDef, rows: Sequence[dict[str, Any]]
    ) -> None:
        """Insert rows whose keys are canonical field names (all rows share one key set)."""
        if not rows:
            return
        columns = list(rows[0])
        placeholders = ", ".join("?" for _ in columns)
        sql = (
            f"INSERT INTO {quote(obj.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({placeholders})"
        )
        conn.executemany(sql, ([row[c] for c in columns] for row in rows))

    def update_row(
        self, conn: sqlite3.Connection, obj: SObjectDef, record_id: str, values: dict[str, Any]
    ) -> None:
        if not values:
            return
        assignments = ", ".join(f"{quote(c)} = ?" for c in values)
        conn.execute(
            f'UPDATE {quote(obj.name)} SET {assignments} WHERE "Id" = ?',
            [*values.values(), record_id],
        )

    def fetch(
        self, conn: sqlite3.Connection, obj: SObjectDef, ids: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """Stored rows by id (deleted ones included), keyed by canonical field names."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, dict[str, Any]] = {}
        names = [f.name for f in obj.stored_fields()]
        select = ", ".join(quote(n) for n in names)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for values in conn.execute(
                f'SELECT {select} FROM {quote(obj.name)} WHERE "Id" IN ({marks})', chunk
            ):
                row = dict(zip(names, values, strict=True))
                found[row["Id"]] = row
        return found

    def fetch_one(
        self, conn: sqlite3.Connection, obj: SObjectDef, record_id: str
    ) -> dict[str, Any] | None:
        return self.fetch(conn, obj, [record_id]).get(record_id)

    def meta_get(self, key: str) -> str | None:
        row = self.reader().execute("SELECT value FROM _emu_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def meta_set(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO _emu_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with self._write_lock:
            readers, self._readers = self._readers, []
        for conn in readers:  # worker threads' readers too, not only the caller's
            conn.close()
        if self._temporary:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path + suffix)
