"""The jobs read model: one row per job, for the list, running, finished and last-ten views.

Rows are kept by applying each event's own `apply` to the job as the row holds it, so a row
is always what the aggregate itself would be at that version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import Status, phase
from jobkeeper.projections.store import Database, Row

tables = ("jobs",)

COLUMNS = (
    "id", "owner", "kind", "name", "params", "status", "phase", "progress", "attempt",
    "checkpoint", "created_at", "started_at", "finished_at", "result", "error",
    "not_before", "deadline", "log_count", "version", "updated_at", "worker",
)  # fmt: skip
JSON_COLUMNS = frozenset({"params", "checkpoint", "result"})
TIME_COLUMNS = frozenset({"created_at", "started_at", "finished_at", "not_before", "deadline", "updated_at"})


def create_statements(t: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {t['jobs']} (
            id BIGINT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
            params TEXT NOT NULL, status TEXT NOT NULL, phase TEXT NOT NULL,
            progress DOUBLE PRECISION NOT NULL, attempt INTEGER NOT NULL, checkpoint TEXT,
            created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, result TEXT, error TEXT,
            not_before TEXT, deadline TEXT, log_count INTEGER NOT NULL,
            version INTEGER NOT NULL, updated_at TEXT NOT NULL, worker TEXT)""",
        f"CREATE INDEX IF NOT EXISTS view_jobs_status ON {t['jobs']} (status, id)",
        f"CREATE INDEX IF NOT EXISTS view_jobs_phase ON {t['jobs']} (phase, id)",
        f"CREATE INDEX IF NOT EXISTS view_jobs_owner ON {t['jobs']} (owner, id)",
    ]


def apply(db: Database, events: Sequence[tuple[int, Any]]) -> None:
    """Bring the touched rows up to date with `events`, one upsert per job."""
    touched: dict[str, Job] = {}
    for _, event in events:
        if not isinstance(event, Job.Event):
            continue
        key = event.originator_id
        if isinstance(event, Job.Submitted):
            job = event.mutate(None)
            assert isinstance(job, Job)
            touched[key] = job
            continue
        job = touched.get(key) or _load(db, key)
        if job is None or event.originator_version <= job.version:
            continue  # already applied
        event.apply(job)
        job.version, job.modified_on = event.originator_version, event.timestamp
        touched[key] = job
    rows = [_to_row(job) for job in touched.values()]
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
    db.executemany(
        f"INSERT INTO {{jobs}} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
        f"ON CONFLICT (id) DO UPDATE SET {updates}",
        rows,
    )


def _load(db: Database, key: str) -> Job | None:
    row = db.one("SELECT * FROM {jobs} WHERE id = ?", (int(key.removeprefix("job-")),))
    return None if row is None else _to_job(row)


def _to_row(job: Job) -> tuple[Any, ...]:
    values = {
        "id": job.number, "owner": job.owner, "kind": job.kind, "name": job.name,
        "params": job.params, "status": job.status.value, "phase": phase(job.status),
        "progress": job.progress, "attempt": job.attempt, "checkpoint": job.checkpoint,
        "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at, "result": job.result, "error": job.error,
        "not_before": job.not_before, "deadline": job.deadline, "log_count": job.log_count,
        "version": job.version, "updated_at": job.modified_on, "worker": job.worker,
    }  # fmt: skip
    return tuple(_encode(c, values[c]) for c in COLUMNS)


def _to_job(row: Row) -> Job:
    job = object.__new__(Job)
    values = decode(row)
    job.__dict__.update(
        _id=f"job-{row['id']}", _version=row["version"], _created_on=values["created_at"],
        _modified_on=values["updated_at"], _pending_events=[], number=row["id"],
        owner=row["owner"], kind=row["kind"], name=row["name"], params=values["params"],
        status=Status(row["status"]), progress=row["progress"], attempt=row["attempt"],
        checkpoint=values["checkpoint"], created_at=values["created_at"],
        started_at=values["started_at"], finished_at=values["finished_at"],
        result=values["result"], error=row["error"], not_before=values["not_before"],
        deadline=values["deadline"], log_count=row["log_count"], run_id=None,
        worker=row["worker"],
    )  # fmt: skip
    return job


def _encode(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return orjson.dumps(value).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def decode(row: Row) -> dict[str, Any]:
    """A view row with its JSON and time columns turned back into values."""
    out = dict(row)
    for column in JSON_COLUMNS:
        out[column] = orjson.loads(row[column]) if row[column] is not None else None
    for column in TIME_COLUMNS:
        out[column] = datetime.fromisoformat(row[column]) if row[column] else None
    return out


def get(db: Database, job_id: int) -> dict[str, Any] | None:
    """The row of job `job_id`, decoded."""
    row = db.one("SELECT * FROM {jobs} WHERE id = ?", (job_id,))
    return None if row is None else decode(row)


def find(
    db: Database,
    *,
    status: str | None = None,
    owner: str | None = None,
    phase: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Jobs newest first, filtered by status, owner and phase, with ids below `before`."""
    rows = select(db, COLUMNS, status=status, owner=owner, phase=phase, before=before, limit=limit)
    return [decode(row) for row in rows]


def select(
    db: Database,
    columns: Sequence[str],
    *,
    status: str | None = None,
    owner: str | None = None,
    phase: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[Row]:
    """Like `find`, but only `columns`, as stored: JSON columns as JSON text, times as ISO text."""
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"the jobs view has no columns {sorted(unknown)}")
    where: list[str] = []
    params: list[object] = []
    for column, value in (("status", status), ("owner", owner), ("phase", phase)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if before is not None:
        where.append("id < ?")
        params.append(before)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    return db.all(
        f"SELECT {', '.join(columns)} FROM {{jobs}} {clause}ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )
