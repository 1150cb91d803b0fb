"""Locks that let one process of several do a job alone (the projector), on each backend.

A lock is held by a live process: an advisory lock of PostgreSQL, held by a connection of
its own, or an exclusive `flock` of a file beside an SQLite store. Either is let go of when
the process ends, however it ends, so a standby takes over without anyone cleaning up.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from jobkeeper.stores.postgres import POSTGRES, connect

log = logging.getLogger(__name__)


class FileLock:
    """An exclusive `flock` on a file: held until released or until the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no one holds it; whether this process holds it now."""
        if self._descriptor is not None:
            return True
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        self._descriptor = descriptor
        return True

    def still_held(self) -> bool:
        """Whether the lock is held by this process (a file lock cannot be lost)."""
        return self._descriptor is not None

    def release(self) -> None:
        """Let go of the lock (closing the file releases it)."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own; losing the connection
    loses the lock, which `still_held` notices."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        scope = f"{env.get('POSTGRES_DBNAME')}/{env.get('POSTGRES_SCHEMA')}/{name}"
        self.key = int.from_bytes(hashlib.sha256(scope.encode()).digest()[:8], "big", signed=True)
        self._connection: Any = None

    def try_acquire(self) -> bool:
        """Take the lock if no session holds it; whether this process holds it now."""
        if self._connection is not None:
            return True
        import psycopg

        try:
            connection = connect(self.env)
        except psycopg.Error as error:
            log.warning("cannot reach the database to take the lock: %s", error)
            return False
        try:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error:
            connection.close()
            return False
        if not row or not row[0]:
            connection.close()
            return False
        self._connection = connection
        return True

    def still_held(self) -> bool:
        """Whether the lock's connection still answers (else the lock is gone with it)."""
        if self._connection is None:
            return False
        import psycopg

        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        """Let go of the lock (closing its session releases it)."""
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # a broken connection holds no lock either
                log.debug("closing the lock's connection failed", exc_info=True)
            self._connection = None


def process_lock(env: dict[str, str], name: str) -> FileLock | AdvisoryLock:
    """The lock called `name` on the store that `env` selects (SQLite or PostgreSQL)."""
    if env.get("PERSISTENCE_MODULE") == POSTGRES:
        return AdvisoryLock(env, name)
    return FileLock(Path(f"{env['SQLITE_DBNAME']}.{name}.lock"))
