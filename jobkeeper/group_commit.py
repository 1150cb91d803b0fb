"""The SQLite event store with group commit: saves that arrive together share one commit.

SQLite makes every commit durable with an fsync of its write-ahead log (about a millisecond
here), and there is one writer at a time, so one commit per save caps a busy service at about
a thousand saves a second however little each save writes. Here a save that finds another
commit under way queues; the next commit takes every queued save at once. Each save still
succeeds or fails on its own (a savepoint each: a version conflict rolls back only that save),
and none returns before the commit holding it is on disk, so nothing acknowledged can be lost.
With no concurrency this is exactly one transaction per save, as before.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore


class _Save:
    """One caller's events, and what became of them."""

    __slots__ = ("done", "error", "events", "ids")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.done = False
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None


class GroupCommitSQLiteRecorder(SQLiteApplicationRecorder):
    """An application recorder whose concurrent inserts share transactions (see the module)."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._waiting: list[_Save] = []
        self._waiting_lock = threading.Lock()
        self._committing = threading.Lock()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if any(value is not None for value in kwargs.values()):  # a tracking record: not ours
            return super().insert_events(stored_events, **kwargs)
        save = _Save(stored_events)
        with self._waiting_lock:
            self._waiting.append(save)
        with self._committing:
            if not save.done:  # no commit took it while this thread waited: lead one
                with self._waiting_lock:
                    group, self._waiting = self._waiting, []
                self._commit(group)
        if save.error is not None:
            raise save.error
        return save.ids

    def _commit(self, group: list[_Save]) -> None:
        try:
            with self.datastore.transaction(commit=True) as cursor:
                if len(group) == 1:
                    group[0].ids = self._insert_events(cursor, group[0].events)
                else:
                    for save in group:
                        self._insert_alone(cursor, save)
        except BaseException as error:  # noqa: BLE001 (the commit failed: so did every save in it)
            for save in group:
                if save.error is None:
                    save.ids, save.error = None, error
        finally:
            for save in group:
                save.done = True

    def _insert_alone(self, cursor: SQLiteCursor, save: _Save) -> None:
        cursor.execute("SAVEPOINT save")
        try:
            save.ids = self._insert_events(cursor, save.events)
        except sqlite3.IntegrityError as error:
            cursor.execute("ROLLBACK TO save")
            save.error = IntegrityError(error)
        cursor.execute("RELEASE save")
