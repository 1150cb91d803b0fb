"""The logs view: every log line of every job, in the order they were recorded.

A line's id is its event's notification id times MAX_LINES_PER_EVENT plus its place in the
event, so ids are stable across rebuilds and follow the event log's order. The rows are
written by the jobs view as it applies each event (it knows the job's line count there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobkeeper.domain.job import MAX_LINES_PER_EVENT
from jobkeeper.projections.store import Database, Row

tables = ("logs",)
COLUMNS = ("id", "job_id", "line", "at", "text")


def create_statements(t: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {t['logs']} (
            id BIGINT PRIMARY KEY, job_id BIGINT NOT NULL, line INTEGER NOT NULL,
            at TEXT NOT NULL, text TEXT NOT NULL)""",
        f"CREATE INDEX IF NOT EXISTS view_logs_job ON {t['logs']} (job_id, id)",
    ]


def apply(db: Database, events: Sequence[tuple[int, Any]]) -> None:
    """Nothing: the jobs view inserts the lines as it applies each event (`add_rows`,
    `insert`), since it knows each job's line count there; one pass over a batch, not two."""


def add_rows(
    rows: list[tuple[Any, ...]],
    notification_id: int,
    job_id: int,
    count_after: int,
    lines: Sequence[dict[str, str]],
) -> None:
    """Append the rows of the `lines` one event carries, the job having `count_after` lines
    once the event is applied."""
    first = count_after - len(lines)
    base = notification_id * MAX_LINES_PER_EVENT
    for place, line in enumerate(lines):
        rows.append((base + place, job_id, first + place + 1, line["at"], line["text"]))


def insert(db: Database, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert log rows (a row already there, from an earlier pass, stays as it is)."""
    db.insert_rows(
        "INSERT INTO {logs} (id, job_id, line, at, text)", rows, "ON CONFLICT (id) DO NOTHING"
    )


def find(
    db: Database, *, job_id: int | None = None, after: int = 0, limit: int = 100
) -> list[Row]:
    """Log lines oldest first, of one job or all, with ids above `after`."""
    columns = ", ".join(COLUMNS)
    if job_id is None:
        statement = f"SELECT {columns} FROM {{logs}} WHERE id > ? ORDER BY id LIMIT ?"
        params: tuple[int, ...] = (after, limit)
    else:
        statement = (
            f"SELECT {columns} FROM {{logs}} WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?"
        )
        params = (job_id, after, limit)
    rows = db.values_at_once(statement, params, COLUMNS)
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
