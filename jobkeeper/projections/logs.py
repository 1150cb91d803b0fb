"""The logs view: every log line of every job, in the order they were recorded.

A line's id is its event's notification id times MAX_LINES_PER_EVENT plus its place in the
event, so ids are stable across rebuilds and follow the event log's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobkeeper.domain.job import MAX_LINES_PER_EVENT, Job
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
    """Insert the log lines that `events` carry."""
    memo = db.memo("logs")  # job id -> (version, lines up to that version)
    counted: dict[str, tuple[int, int]] = {}
    rows: list[tuple[Any, ...]] = []
    for notification_id, event in events:
        if not isinstance(event, Job.Event):
            continue
        key, version = event.originator_id, event.originator_version
        known = counted.get(key)
        if known is None:
            known = memo.get(key)
        if known is not None and version <= known[0]:
            continue  # already counted
        lines = getattr(event, "lines", ())
        if isinstance(event, Job.Submitted):
            first = 0
        elif known is not None and version == known[0] + 1:
            first = known[1]
        elif not lines:
            continue  # nothing to number: leave the count unknown
        else:  # not remembered, or another process moved it on
            first = _lines_before(db, int(key.removeprefix("job-")), notification_id)
        number = int(key.removeprefix("job-")) if lines else 0
        for place, line in enumerate(lines):
            rows.append(
                (notification_id * MAX_LINES_PER_EVENT + place, number, first + place + 1,
                 line["at"], line["text"])
            )  # fmt: skip
        counted[key] = (version, first + len(lines))
    for key, known in counted.items():
        memo.put(key, known)
    db.executemany(
        "INSERT INTO {logs} (id, job_id, line, at, text) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        rows,
    )


def _lines_before(db: Database, job_id: int, notification_id: int) -> int:
    """How many lines the job's events before notification `notification_id` carry: the line
    number of its last line with a smaller id (lines are numbered in id order)."""
    row = db.one(
        "SELECT line FROM {logs} WHERE job_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
        (job_id, notification_id * MAX_LINES_PER_EVENT),
    )
    return int(row["line"]) if row else 0


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


def tail(db: Database, job_id: int, limit: int) -> list[Row]:
    """The last `limit` log lines of one job, oldest first."""
    columns = ", ".join(COLUMNS)
    statement = (
        f"SELECT {columns} FROM {{logs}} WHERE job_id = ? ORDER BY id DESC LIMIT ?"
    )
    rows = db.values_at_once(statement, (job_id, limit), COLUMNS, newest_first=True)
    return [dict(zip(COLUMNS, row, strict=True)) for row in reversed(rows)]
