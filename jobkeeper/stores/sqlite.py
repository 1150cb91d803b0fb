"""The event store on SQLite: the library's, with group commit and a pool sized for the service.

Group commit: saves that arrive together share one commit.

SQLite makes every commit durable with an fsync of its write-ahead log (about a millisecond
here), and there is one writer at a time, so one commit per save caps a busy service at about
a thousand saves a second however little each save writes. Here a save that finds another
commit under way queues; the next commit takes every queued save at once, in a few multi-row
INSERTs. Each save still succeeds or fails on its own (if any row conflicts, the group is
inserted again with a savepoint per save, so a version conflict rolls back only its save),
and none returns before the commit holding it is on disk, so nothing acknowledged can be lost.
With no concurrency this is exactly one transaction per save, as before.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType

ROWS_PER_STATEMENT = 500
"""Rows per multi-row INSERT (four parameters each: well under SQLite's 32,766)."""


class _Save:
    """One caller's events, and what became of them."""

    __slots__ = ("error", "events", "ids", "lead", "ready")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.lead = False  # this caller commits the next group
        self.ready = threading.Event()  # set when committed, or when made the leader


class GroupCommitSQLiteRecorder(SQLiteApplicationRecorder):
    """An application recorder whose concurrent inserts share transactions (see the module).

    One caller at a time leads: it commits every save waiting at that moment, wakes each of
    them, and hands the lead to the first save that arrived meanwhile. The others wait on an
    event of their own, so a group of hundreds wakes at once rather than one by one.
    """

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._waiting: list[_Save] = []
        self._leading = False
        self._lock = threading.Lock()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if any(value is not None for value in kwargs.values()):  # a tracking record: not ours
            return super().insert_events(stored_events, **kwargs)
        save = _Save(stored_events)
        with self._lock:
            self._waiting.append(save)
            if not self._leading:
                self._leading = save.lead = True
        if not save.lead:
            save.ready.wait()
        if save.lead:
            self._lead()
        if save.error is not None:
            raise save.error
        return save.ids

    def _lead(self) -> None:
        with self._lock:
            group, self._waiting = self._waiting, []
        try:
            self._commit(group)
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """The lead passes to the first save waiting, if any."""
        with self._lock:
            if self._waiting:
                following = self._waiting[0]
                following.lead = True
                following.ready.set()
            else:
                self._leading = False

    def _commit(self, group: list[_Save]) -> None:
        try:
            with self.datastore.transaction(commit=True) as cursor:
                if len(group) == 1:
                    group[0].ids = self._insert_events(cursor, group[0].events)
                elif not self._insert_together(cursor, group):
                    for save in group:
                        self._insert_alone(cursor, save)
        except BaseException as error:
            for save in group:
                if save.error is None:
                    save.ids, save.error = None, error
        finally:
            for save in group:
                save.lead = False
                save.ready.set()

    def _insert_together(self, cursor: SQLiteCursor, group: list[_Save]) -> bool:
        """Insert every save's events with a few multi-row statements; False (and nothing
        inserted) if any of them conflicts.

        Few statements matter: SQLite lets go of Python's GIL for every statement step, and
        a leader that must win the GIL back hundreds of times from the hundreds of threads it
        just woke takes far longer than the insert itself.
        """
        rows = [
            (e.originator_id.hex if isinstance(e.originator_id, UUID) else e.originator_id,
             e.originator_version, e.topic, e.state)
            for save in group
            for e in save.events
        ]  # fmt: skip
        if not rows:  # nothing to insert, and no largest rowid to count back from
            for save in group:
                save.ids = []
            return True
        cursor.execute("SAVEPOINT together")
        try:
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                values = ",".join(["(?,?,?,?)"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {self.events_table_name} VALUES {values}",
                    [value for row in chunk for value in row],
                )
        except sqlite3.IntegrityError:
            cursor.execute("ROLLBACK TO together")
            cursor.execute("RELEASE together")
            return False
        cursor.execute("RELEASE together")
        # Inside this write transaction nobody else inserts, and SQLite gives each new row
        # the largest rowid so far plus one: the rows got the ids up to the largest now.
        cursor.execute(self.select_max_notification_id_statement)
        following = int(cursor.fetchone()[0]) - len(rows) + 1
        for save in group:
            save.ids = list(range(following, following + len(save.events)))
            following += len(save.events)
        return True

    def _insert_alone(self, cursor: SQLiteCursor, save: _Save) -> None:
        cursor.execute("SAVEPOINT save")
        try:
            save.ids = self._insert_events(cursor, save.events)
        except sqlite3.IntegrityError as error:
            cursor.execute("ROLLBACK TO save")
            save.error = IntegrityError(error)
        cursor.execute("RELEASE save")


class SQLiteStoreFactory(SQLiteFactory):
    """The library's SQLite factory, with group commit and SQLITE_POOL_SIZE connections.

    The library keeps 5 connections and closes any extra one as soon as it is given back,
    so more than 5 concurrent requests open and close an SQLite connection (and parse the
    schema again) on every query. The service keeps one per request thread and some over.
    """

    application_recorder_class = GroupCommitSQLiteRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        size = int(self.env.get(POOL_SIZE) or DEFAULT_POOL_SIZE)
        self.datastore.pool.pool_size = size
        self.datastore.pool.max_overflow = size


POOL_SIZE = "SQLITE_POOL_SIZE"
DEFAULT_POOL_SIZE = 5
