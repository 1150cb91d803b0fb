"""The operator's work on the views: rebuild them from the event log, and verify them.

Both use the projection itself: a rebuild is the projector's own replay from position 0, and
a verify replays the log into a scratch view store with the same code and compares row by row.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.application import Application

from jobkeeper.domain.job import MAX_LINES_PER_EVENT
from jobkeeper.projections.lock import ViewsLock
from jobkeeper.projections.projector import Projector, ViewProjection
from jobkeeper.projections.store import Database, ViewStore, open_view_store

KEYS = {"jobs": "id", "logs": "id", "users": "id"}
"""Each view table and the column its rows are compared by."""
PAGE = 5_000
CATCH_UP_TIMEOUT = 10.0


def rebuild(app: Application[str], store: ViewStore, on_batch: Callable[[int], None]) -> int:
    """Empty the views and replay the whole log into them, alone (ViewsBusyError while any
    other process keeps them); `on_batch` hears the position after each batch. Returns how
    many events were applied."""
    lock = ViewsLock(store)
    lock.hold(exclusive=True)
    try:
        on_batch(0)  # it begins
        return Projector(app, ViewProjection(store)).rebuild(on_batch=on_batch)
    finally:
        lock.release()


def log_position(app: Application[str]) -> int:
    """The id of the last event recorded."""
    return int(app.recorder.max_notification_id() or 0)


@dataclass(frozen=True)
class Difference:
    """One row that the views and a fresh replay disagree on; `column` None: a missing row."""

    table: str
    key: Any
    column: str | None
    view: Any
    replay: Any

    def __str__(self) -> str:
        if self.column is None:
            where = "only in the views" if self.replay is None else "missing from the views"
            return f"{self.table} {self.key}: {where}"
        where = f"{self.table} {self.key}: {self.column}"
        return f"{where} is {self.view!r} in the views, {self.replay!r} in a replay"


@dataclass(frozen=True)
class ViewsCheck:
    """What a check of the views found: the differences, and the rows it compared by table
    and outcome (match, differ, missing)."""

    differences: list[Difference]
    compared: dict[tuple[str, str], int]

    @property
    def intact(self) -> bool:
        """Whether every view row matches the replay."""
        return not self.differences


def check(app: Application[str], store: ViewStore) -> ViewsCheck:
    """`verify`, with the count of rows compared."""
    compared: Counter[tuple[str, str]] = Counter()
    differences = verify(app, store, compared)
    return ViewsCheck(differences, dict(compared))


def verify(
    app: Application[str], store: ViewStore, compared: Counter[tuple[str, str]] | None = None
) -> list[Difference]:
    """Every difference between the views and a fresh replay of the whole log; `compared`
    counts the rows of the first comparison by table and outcome (match, differ, missing).

    It may run beside the processes that keep the views: it compares once the views have
    reached the position it replayed to, and a row that differs is checked again after a
    second replay, so what merely moved on while it read is not reported.
    """
    with tempfile.TemporaryDirectory(prefix="jobkeeper-verify-") as folder:
        scratch = open_view_store(_scratch_env(Path(folder)), store.views)
        try:
            replaying = Projector(app, ViewProjection(scratch))
            replaying.catch_up()
            store.wait_for(app.name, replaying.position, CATCH_UP_TIMEOUT)
            differences = list(_compare(store, scratch, limit=replaying.position, seen=compared))
            if differences:
                replaying.catch_up()
                store.wait_for(app.name, replaying.position, CATCH_UP_TIMEOUT)
                again = {(d.table, d.key) for d in differences}
                differences = [
                    d
                    for d in _compare(store, scratch, limit=replaying.position)
                    if (d.table, d.key) in again
                ]
            behind = store.position(app.name)
            if behind < replaying.position:
                differences.append(
                    Difference("tracking", app.name, "position", behind, replaying.position)
                )
            return differences
        finally:
            scratch.close()


def _scratch_env(folder: Path) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(folder / "views.db"),
        "SQLITE_LOCK_TIMEOUT": "10",
    }


def _compare(
    store: ViewStore, scratch: ViewStore, *, limit: int,
    seen: Counter[tuple[str, str]] | None = None,
) -> Iterator[Difference]:
    """Differences of the rows that a replay up to position `limit` accounts for."""
    seen = Counter() if seen is None else seen
    for table in (name for view in store.views for name in view.tables):
        key = KEYS[table]
        views, replay = _rows(store, table, key), _rows(scratch, table, key)
        view_row, replay_row = next(views, None), next(replay, None)
        while view_row is not None or replay_row is not None:
            if replay_row is None or (view_row is not None and view_row[key] < replay_row[key]):
                assert view_row is not None
                if not _after_limit(table, view_row, limit):
                    seen[table, "missing"] += 1
                    yield Difference(table, view_row[key], None, view_row, None)
                view_row = next(views, None)
            elif view_row is None or replay_row[key] < view_row[key]:
                seen[table, "missing"] += 1
                yield Difference(table, replay_row[key], None, None, replay_row)
                replay_row = next(replay, None)
            else:
                differ = [c for c, value in replay_row.items() if view_row.get(c) != value]
                seen[table, "differ" if differ else "match"] += 1
                for column in differ:
                    yield Difference(
                        table, replay_row[key], column, view_row.get(column), replay_row[column]
                    )
                view_row, replay_row = next(views, None), next(replay, None)


def _after_limit(table: str, row: dict[str, Any], limit: int) -> bool:
    """Whether a log line only in the views comes from an event after position `limit`
    (its id says so; for other rows the second replay tells)."""
    return table == "logs" and int(row["id"]) >= (limit + 1) * MAX_LINES_PER_EVENT


def _rows(store: ViewStore, table: str, key: str) -> Iterator[dict[str, Any]]:
    """The table's rows in `key` order, a page at a time."""
    last: Any = None
    while True:
        with store.reading() as db:
            page = _page(db, table, key, last)
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1][key]


def _page(db: Database, table: str, key: str, last: Any) -> list[dict[str, Any]]:
    where = "" if last is None else f"WHERE {key} > ? "
    params = () if last is None else (last,)
    statement = f"SELECT * FROM {{{table}}} {where}ORDER BY {key} LIMIT {PAGE}"
    return db.all(statement, params)
