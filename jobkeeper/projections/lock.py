"""Who writes the views: every process that keeps them holds a shared lock, a rebuild an
exclusive one.

The lock belongs to the process, not to a heartbeat: the operating system (a file lock on
SQLite) or the database (an advisory lock on PostgreSQL, held by a connection of its own)
releases it the moment the holder ends, however it ends, so a crashed projector never blocks
a rebuild and a live one is never missed. Several projectors may hold it at once (a warm
standby), a rebuild only alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from typing import Any

from jobkeeper.projections.store import ViewStore

LOCK_NAME = "jobkeeper_views"
POLL = 0.2  # seconds between tries while waiting for the lock

log = logging.getLogger(__name__)


class ViewsBusyError(RuntimeError):
    """Raised when the lock is held the other way: a rebuild runs, or processes keep the views."""


class ViewsLock:
    """The views' writer lock for one view store; `release` (or the process's end) frees it."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store
        self._file: int | None = None
        self._connection: Any = None

    def hold(self, *, exclusive: bool, wait: float = 0.0) -> None:
        """Take the lock, waiting up to `wait` seconds for it, or raise ViewsBusyError."""
        deadline, said = time.monotonic() + wait, False
        while not self._take(exclusive):
            if time.monotonic() >= deadline:
                if exclusive:
                    raise ViewsBusyError(
                        "a serve or projector process keeps these views; stop it before rebuilding"
                    )
                raise ViewsBusyError("the views are being rebuilt; start again when it is done")
            if not said:
                log.warning("the views are being rebuilt; waiting up to %.0f s for it", wait)
                said = True
            time.sleep(POLL)

    def _take(self, exclusive: bool) -> bool:
        taken = self._postgres(exclusive) if self.store.postgres else self._sqlite(exclusive)
        if not taken:
            self.release()
        return taken

    def _sqlite(self, exclusive: bool) -> bool:
        name = str(self.store.datastore.pool.db_name)
        if self.store.datastore.pool.is_sqlite_memory_mode:
            return True  # no other process can see these views
        self._file = os.open(f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._file, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _postgres(self, exclusive: bool) -> bool:
        import psycopg

        datastore = self.store.datastore
        options = {k: v for k, v in datastore.pool.kwargs.items() if k != "row_factory"}
        self._connection = psycopg.connect(autocommit=True, **options)
        function = "pg_try_advisory_lock" if exclusive else "pg_try_advisory_lock_shared"
        key = f"{datastore.schema}.{LOCK_NAME}"
        row = self._connection.execute(
            f"SELECT {function}(hashtextextended(%s, 0))", (key,)
        ).fetchone()
        return bool(row and row[0])

    def release(self) -> None:
        """Let go of the lock (closing what holds it)."""
        if self._file is not None:
            os.close(self._file)
            self._file = None
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
