"""Checkpointing SQLite's write-ahead log on a thread of its own while a bulk load runs.

In WAL mode, a commit that leaves the log longer than `wal_autocheckpoint` pages copies the log
back into the database file before it returns: in an initial copy, a sixth of the time the
storing thread spends. During a bulk load the writers' connections stop checkpointing and a
`Checkpointer` does it after each commit, on its own connection, while the storing thread
builds its next batch (the sqlite3 module lets go of the GIL while SQLite works). A PASSIVE
checkpoint never blocks a writer, and the log starts again from its beginning at the first
commit after a checkpoint that copied all of it, so the log stays about a batch long.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("leadsync.db")

SQLITE_AUTOCHECKPOINT = 1000  # pages: SQLite's default, what writers run with outside a load


class Checkpointer:
    """A thread that checkpoints one SQLite database's log each time it is nudged."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="leadsync-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """A commit happened: checkpoint soon (nudges while a checkpoint runs make one more)."""
        self._wake.set()

    def close(self) -> None:
        """Stop the thread, then checkpoint what the last commits left in the log."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._checkpoint()
        self._conn.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            self._checkpoint()

    def _checkpoint(self) -> None:
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            # Nothing is lost: the log keeps every commit, and the writers' own checkpoints
            # take over when the load ends.
            log.warning("checkpointing the write-ahead log failed: %s", exc)
