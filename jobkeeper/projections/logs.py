"""The logs read model: every log line of every job, in the order they were recorded.

A line's id is its event's notification id times MAX_LINES_PER_EVENT plus its place in the
event, so ids are stable across rebuilds and follow the event log's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobkeeper.domain.job import MAX_LINES_PER_EVENT, Job
from jobkeeper.projections.store import Database, Row

tables = ("logs",)


def create_statements(t: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {t['logs']} (
            id BIGINT PRIMARY KEY, job_id BIGINT NOT NULL, line INTEGER NOT NULL,
            at TEXT NOT NULL, text TEXT NOT NULL)""",
        f"CREATE INDEX IF NOT EXISTS view_logs_job ON {t['logs']} (job_id, id)",
    ]


def apply(db: Database, events: Sequence[tuple[int, Any]]) -> None:
    """Insert the log lines that `events` carry."""
    rows: list[tuple[Any, ...]] = []
    lines_before: dict[str, int] = {}
    for notification_id, event in events:
        lines = getattr(event, "lines", None) if isinstance(event, Job.Event) else None
        if not lines:
            continue
        number = int(event.originator_id.removeprefix("job-"))
        if event.originator_id not in lines_before:
            lines_before[event.originator_id] = _line_count(db, number)
        first = lines_before[event.originator_id]
        for place, line in enumerate(lines):
            rows.append(
                (notification_id * MAX_LINES_PER_EVENT + place, number, first + place + 1,
                 line["at"], line["text"])
            )  # fmt: skip
        lines_before[event.originator_id] = first + len(lines)
    db.executemany(
        "INSERT INTO {logs} (id, job_id, line, at, text) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        rows,
    )


def _line_count(db: Database, job_id: int) -> int:
    row = db.one("SELECT MAX(line) AS last FROM {logs} WHERE job_id = ?", (job_id,))
    return int(row["last"] or 0) if row else 0


def find(
    db: Database, *, job_id: int | None = None, after: int = 0, limit: int = 100
) -> list[Row]:
    """Log lines oldest first, of one job or all, with ids above `after`."""
    if job_id is None:
        return db.all("SELECT * FROM {logs} WHERE id > ? ORDER BY id LIMIT ?", (after, limit))
    return db.all(
        "SELECT * FROM {logs} WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
        (job_id, after, limit),
    )
