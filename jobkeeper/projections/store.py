"""The view store: the views' tables and tracking position, on SQLite or PostgreSQL.

Each view module (jobs, logs, users) declares its tables and how a batch of events
changes them; the store runs a whole batch and the new tracking position in one transaction.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import orjson
from eventsourcing.persistence import InfrastructureFactory, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from eventsourcing.utils import Environment
from psycopg.sql import SQL

Row = dict[str, Any]
INDEX_NAME = re.compile(r"CREATE INDEX IF NOT EXISTS (\w+) ON ")
MEMO_SIZE = 10_000
SQLITE_SOFT_HEAP_LIMIT = 8 * 2**20
"""Bytes SQLite keeps for all its connections in this process together (a process-wide
limit): every connection has a page cache of its own, so sixteen threads that each read a
page of 10,000 jobs would otherwise keep sixteen full caches afterwards."""
"""Entities each view remembers between batches (jobs' stories span a few thousand events)."""


class Cursor(Protocol):
    def execute(self, statement: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> Any: ...
    def fetchone(self) -> Any: ...


class View(Protocol):
    """One view: its tables, and how events change them."""

    tables: tuple[str, ...]

    def create_statements(self, t: dict[str, str]) -> list[str]: ...

    def apply(self, db: Database, events: Sequence[tuple[int, Any]]) -> None: ...


class Memo:
    """What a view wrote for the entities it touched last, so the next batch need not
    read it back: an LRU of `size` entries, emptied whenever a batch fails or the views are
    dropped. An entry is only as good as its version: a view uses it for an event whose
    version follows it, and reads the row again otherwise (another process may have written it).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        return self._entries.get(key)

    def put(self, key: str, entry: Any) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class Database:
    """A cursor inside the batch's transaction, speaking one SQL dialect with `?` markers."""

    def __init__(
        self,
        cursor: Cursor,
        tables: dict[str, str],
        postgres: bool,
        memos: dict[str, Memo] | None = None,
        memo_size: int = MEMO_SIZE,
    ) -> None:
        self.cursor, self.t, self.postgres = cursor, tables, postgres
        self._memos = memos if memos is not None else {}
        self._memo_size = memo_size

    def memo(self, name: str) -> Memo:
        """The memo a view keeps between batches under `name`."""
        if name not in self._memos:
            self._memos[name] = Memo(self._memo_size)
        return self._memos[name]

    def sql(self, statement: str) -> str:
        statement = statement.format(**self.t)
        return statement.replace("?", "%s") if self.postgres else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(self.sql(statement), self._clean(params))

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(self.sql(statement), [self._clean(row) for row in rows])

    def insert_rows(
        self, head: str, rows: Sequence[Sequence[Any]], tail: str = "", per_statement: int = 200
    ) -> None:
        """`head VALUES (?, ...), (?, ...) ... tail` for `rows`, `per_statement` rows a
        statement: far fewer statement steps than `executemany`'s one per row (a rebuild
        writes hundreds of thousands of rows; bench/RESULTS.md, "Jobs that run for weeks")."""
        if not rows:
            return
        width = len(rows[0])
        marks = "(" + ", ".join("?" * width) + ")"
        full = self.sql(f"{head} VALUES {', '.join([marks] * per_statement)} {tail}")
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            statement = full
            if len(chunk) < per_statement:
                statement = self.sql(f"{head} VALUES {', '.join([marks] * len(chunk))} {tail}")
            self.cursor.execute(statement, self._clean([v for row in chunk for v in row]))

    def _clean(self, params: Sequence[Any]) -> Sequence[Any]:
        """PostgreSQL text cannot hold NUL: show it as U+FFFD rather than stall the views."""
        if not self.postgres:
            return params
        return [p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params]

    def all(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        self.cursor.execute(self.sql(statement), params)
        return [dict(row) for row in self.cursor.fetchall()]

    def values(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Like `all`, but each row as a tuple of its values in the order selected."""
        self.cursor.execute(self.sql(statement), params)
        rows = self.cursor.fetchall()
        if self.postgres:  # rows are dicts there
            return [tuple(row.values()) for row in rows]
        return [tuple(row) for row in rows]

    def values_at_once(
        self,
        statement: str,
        params: Sequence[Any],
        columns: Sequence[str],
        reals: frozenset[str] = frozenset(),
        *,
        newest_first: bool = False,
    ) -> list[tuple[Any, ...]]:
        """Like `values` for a SELECT of `columns` ordered by `id` (descending if
        `newest_first`), fetched in one step.

        On SQLite the rows come as one JSON document that SQLite builds, because every row
        stepped to costs a GIL handoff (bench/RESULTS.md, "The GIL"): reals are written with
        17 digits (which read back as the same float) and the order is made sure of after.
        PostgreSQL's driver fetches a result at once anyway.
        """
        if self.postgres:
            return self.values(statement, params)
        values = ", ".join(f"printf('%!.17g', {c})" if c in reals else c for c in columns)
        document = self.values(
            f"SELECT json_group_array(json_array({values})) FROM ({statement})", params
        )
        rows = orjson.loads(document[0][0])
        places = [place for place, column in enumerate(columns) if column in reals]
        for row in rows:
            for place in places:
                row[place] = float(row[place])
        if "id" in columns:
            place = list(columns).index("id")
            rows.sort(key=lambda row: row[place], reverse=newest_first)
        return [tuple(row) for row in rows]

    def one(self, statement: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.all(statement, params)
        return rows[0] if rows else None


class SideTable(Protocol):
    """A table kept beside the views that events do not fill (and a replay leaves alone)."""

    tables: tuple[str, ...]

    def create_statements(self, t: dict[str, str]) -> list[str]: ...


class ViewStore(TrackingRecorder):
    """A tracking recorder that also holds the views' tables (SQLite or PostgreSQL)."""

    views: tuple[View, ...] = ()
    side_tables: tuple[SideTable, ...] = ()
    postgres = False
    memo_size = MEMO_SIZE
    datastore: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memos: dict[str, Memo] = {}

    def close(self) -> None:
        """Close the store's connections (its pool, on PostgreSQL)."""
        self.datastore.close()

    def table_names(self) -> dict[str, str]:
        models: tuple[SideTable, ...] = self.views + self.side_tables
        names = {name: f"view_{name}" for model in models for name in model.tables}
        if self.postgres:
            schema = self.datastore.schema
            names = {k: f'"{schema}"."{v}"' for k, v in names.items()}
        return names

    def view_statements(self) -> list[str]:
        t = self.table_names()
        models: tuple[SideTable, ...] = self.views + self.side_tables
        return [s for model in models for s in model.create_statements(t)]

    @contextmanager
    def bulk_loading(self, application_name: str) -> Iterator[None]:
        """While a catch-up fills empty views from position 0 (a rebuild, a first start), on
        SQLite: without the views' secondary indexes, made again once at the end (one sort
        each instead of an update of each index for every row). Elsewhere, or when the views
        hold anything, nothing changes. An index dropped and not yet made again by a process
        that died is made again by the next start's create statements."""
        if self.postgres or self.position(application_name) or not self._views_empty():
            yield
            return
        statements = self.view_statements()
        names = [m[1] for m in map(INDEX_NAME.match, statements) if m is not None]
        with self.datastore.transaction(commit=True) as cursor:
            for name in names:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
        try:
            yield
        finally:
            with self.datastore.transaction(commit=True) as cursor:
                for statement in statements:
                    cursor.execute(statement)

    def _views_empty(self) -> bool:
        with self.reading() as db:
            for name in (name for model in self.views for name in model.tables):
                if db.all(f"SELECT 1 FROM {{{name}}} LIMIT 1"):
                    return False
        return True

    def apply_batch(self, events: Sequence[tuple[int, Any]], tracking: Tracking) -> None:
        """Apply `events` to every view and record `tracking`, all or nothing."""
        try:
            with self.datastore.transaction(commit=True) as cursor:
                db = Database(
                    cursor, self.table_names(), self.postgres, self._memos, self.memo_size
                )
                for model in self.views:
                    model.apply(db, events)
                self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]
        except BaseException:
            self._memos.clear()  # they may hold what was rolled back
            raise

    @contextmanager
    def reading(self) -> Iterator[Database]:
        """A read-only database handle for queries."""
        with self.datastore.transaction(commit=False) as cursor:
            yield Database(cursor, self.table_names(), self.postgres)

    @contextmanager
    def writing(self) -> Iterator[Database]:
        """A database handle whose writes commit together (for side tables only)."""
        with self.datastore.transaction(commit=True) as cursor:
            yield Database(cursor, self.table_names(), self.postgres)

    def drop(self, application_name: str) -> None:
        """Empty every view table and forget the position, so a replay starts from 0."""
        self._memos.clear()
        with self.datastore.transaction(commit=True) as cursor:
            db = Database(cursor, self.table_names(), self.postgres)
            for name in (name for model in self.views for name in model.tables):
                db.execute(f"DELETE FROM {{{name}}}")
            db.execute(self._tracking_table() + " WHERE application_name = ?", (application_name,))

    def _tracking_table(self) -> str:
        raise NotImplementedError

    def position(self, application_name: str) -> int:
        """The last notification id the views have applied."""
        return self.max_tracking_id(application_name) or 0

    def wait_for(self, application_name: str, position: int, timeout: float) -> bool:
        """Poll until the views reach `position`; False if `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while self.position(application_name) < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True


class SQLiteViewStore(ViewStore, SQLiteTrackingRecorder):
    """The view store in an SQLite file of its own."""

    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + self.view_statements()

    def _tracking_table(self) -> str:
        return "DELETE FROM tracking"

    @contextmanager
    def reading(self) -> Iterator[Database]:
        """A handle for one query, outside any transaction: in autocommit mode a SELECT reads
        one consistent snapshot on its own, and BEGIN and ROLLBACK would be two more calls
        that each let go of the GIL (every query here is one statement)."""
        with self.datastore.get_connection(commit=False) as connection:
            cursor = connection.cursor()
            with cursor:
                yield Database(cursor, self.table_names(), self.postgres)


class PostgresViewStore(ViewStore, PostgresTrackingRecorder):
    """The view store in PostgreSQL, beside the event store."""

    postgres = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.extend(SQL(s) for s in self.view_statements())  # type: ignore[misc]

    def _tracking_table(self) -> str:
        return f'DELETE FROM "{self.datastore.schema}"."{self.tracking_table_name}"'


def open_view_store(
    env: dict[str, str],
    views: tuple[View, ...],
    side_tables: tuple[SideTable, ...] = (),
) -> ViewStore:
    """Build the view store that `env` selects (PERSISTENCE_MODULE and its keys)."""
    factory = InfrastructureFactory.construct(Environment("jobkeeper_views", env))
    postgres = env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"
    base = PostgresViewStore if postgres else SQLiteViewStore
    attributes = {"views": views, "side_tables": side_tables}
    store_class = type(base.__name__, (base,), attributes)
    store = factory.tracking_recorder(store_class)
    assert isinstance(store, ViewStore)
    if not postgres:
        with store.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"PRAGMA soft_heap_limit = {SQLITE_SOFT_HEAP_LIMIT}")
    return store
