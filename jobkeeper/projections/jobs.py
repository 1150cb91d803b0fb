"""The jobs view: one row per job, for the list, running, finished and last-ten views.

Rows are kept by applying each event's own `apply` to the job as the row holds it, so a row
is always what the aggregate itself would be at that version. The events come with their times
as ISO text (events.py), which the `apply` methods only copy, so the job's times are the text the
row stores. The jobs of the last batches stay in the store's memo, as the rows they wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import Status, phase
from jobkeeper.projections import logs
from jobkeeper.projections.store import Database, Row

tables = ("jobs",)

COLUMNS = (
    "id", "owner", "kind", "name", "params", "status", "phase", "progress", "attempt",
    "checkpoint", "created_at", "started_at", "finished_at", "result", "error",
    "not_before", "deadline", "log_count", "version", "updated_at", "worker",
)  # fmt: skip
JSON_COLUMNS = frozenset({"params", "checkpoint", "result"})
REAL_COLUMNS = frozenset({"progress"})
WAITING_SINCE = "CASE WHEN not_before > updated_at THEN not_before ELSE updated_at END"
"""Since when a queued job has been due: its last change, or its not_before if later (ISO
text in UTC on both sides, so the text compares as the times do)."""
TIME_COLUMNS = frozenset(
    {"created_at", "started_at", "finished_at", "not_before", "deadline", "updated_at"}
)


def create_statements(t: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {t["jobs"]} (
            id BIGINT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
            params TEXT NOT NULL, status TEXT NOT NULL, phase TEXT NOT NULL,
            progress DOUBLE PRECISION NOT NULL, attempt INTEGER NOT NULL, checkpoint TEXT,
            created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, result TEXT, error TEXT,
            not_before TEXT, deadline TEXT, log_count INTEGER NOT NULL,
            version INTEGER NOT NULL, updated_at TEXT NOT NULL, worker TEXT)""",
        f"CREATE INDEX IF NOT EXISTS view_jobs_status ON {t['jobs']} (status, id)",
        f"CREATE INDEX IF NOT EXISTS view_jobs_phase ON {t['jobs']} (phase, id)",
        f"CREATE INDEX IF NOT EXISTS view_jobs_owner ON {t['jobs']} (owner, id)",
        # What the liveness sweep asks, so it reads only the rows it acts on.
        f"CREATE INDEX IF NOT EXISTS view_jobs_worker ON {t['jobs']} (worker, id) "
        "WHERE worker IS NOT NULL",
        f"CREATE INDEX IF NOT EXISTS view_jobs_waiting ON {t['jobs']} "
        f"(status, ({WAITING_SINCE}), id)",
        f"CREATE INDEX IF NOT EXISTS view_jobs_kind ON {t['jobs']} (kind, id)",
        # Views written before the running view's phase had its name (one indexed read after).
        f"UPDATE {t['jobs']} SET phase = 'running' WHERE phase = 'active'",
    ]


def apply(db: Database, events: Sequence[tuple[int, Any]]) -> None:
    """Bring the touched rows up to date with `events`, one upsert per job; and insert the
    log lines they carry, numbered by the job's line count as each event leaves it (so the
    logs view needs no pass of its own over the batch)."""
    memo = db.memo("jobs")
    touched: dict[str, Job] = {}
    lines: list[tuple[Any, ...]] = []
    for notification_id, event in events:
        if not isinstance(event, Job.Event):
            continue
        key, version = event.originator_id, event.originator_version
        job = touched.get(key)
        if job is None:
            job = memo.get(key)
        if job is not None and version <= job.version:
            continue  # already applied
        if isinstance(event, Job.Submitted):
            job = _shell(event)
        else:
            if job is None or version != job.version + 1:
                job = _load(db, key)  # not remembered, or another process moved it on
                if job is None or version <= job.version:
                    continue
            event.apply(job)
        job.version, job.modified_on = version, event.timestamp
        touched[key] = job
        carried = getattr(event, "lines", None)
        if carried:
            logs.add_rows(lines, notification_id, job.number, job.log_count, carried)
    for key, job in touched.items():
        memo.put(key, job)
    db.insert_rows(UPSERT_HEAD, [_to_row(job) for job in touched.values()], UPSERT_TAIL)
    logs.insert(db, lines)


UPSERT_HEAD = f"INSERT INTO {{jobs}} AS j ({', '.join(COLUMNS)})"
UPSERT_TAIL = (
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in COLUMNS[1:])} "
    "WHERE j.version < excluded.version"
)
"""A row only moves forward: another projector may have written a later version already."""
PHASES = {status: phase(status) for status in Status}


def _shell(event: Job.Submitted) -> Job:
    """A new job as `Submitted` makes it (what `event.mutate(None)` builds, without its
    generic constructor call: the event's own `apply` sets every field the row holds)."""
    job = object.__new__(Job)
    job.__dict__.update(
        _id=event.originator_id, _version=event.originator_version,
        _created_on=event.timestamp, _modified_on=event.timestamp, _pending_events=[],
    )  # fmt: skip
    event.apply(job)
    return job


def _load(db: Database, key: str) -> Job | None:
    row = db.one("SELECT * FROM {jobs} WHERE id = ?", (int(key.removeprefix("job-")),))
    return None if row is None else _to_job(row)


def _to_row(job: Job) -> tuple[Any, ...]:
    """The job as a row, in COLUMNS order; its times are already ISO text (see events.py)."""
    dumps = orjson.dumps
    return (
        job.number, job.owner, job.kind, job.name, dumps(job.params).decode(),
        job.status.value, PHASES[job.status], job.progress, job.attempt,
        dumps(job.checkpoint).decode(), job.created_at, job.started_at, job.finished_at,
        dumps(job.result).decode(), job.error, job.not_before, job.deadline, job.log_count,
        job.version, job.modified_on, job.worker,
    )  # fmt: skip


def _to_job(row: Row) -> Job:
    """The job a row holds, its times kept as the row's ISO text."""
    job = object.__new__(Job)
    job.__dict__.update(
        _id=f"job-{row['id']}", _version=row["version"], _created_on=row["created_at"],
        _modified_on=row["updated_at"], _pending_events=[], number=row["id"],
        owner=row["owner"], kind=row["kind"], name=row["name"],
        params=orjson.loads(row["params"]), status=Status(row["status"]),
        progress=row["progress"], attempt=row["attempt"],
        checkpoint=_json(row["checkpoint"]), created_at=row["created_at"],
        started_at=row["started_at"], finished_at=row["finished_at"],
        result=_json(row["result"]), error=row["error"], not_before=row["not_before"],
        deadline=row["deadline"], log_count=row["log_count"], run_id=None,
        worker=row["worker"],
    )  # fmt: skip
    return job


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def decode(row: Mapping[str, Any]) -> dict[str, Any]:
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
    return [decode(dict(zip(COLUMNS, row, strict=True))) for row in rows]


def select(
    db: Database,
    columns: Sequence[str],
    *,
    status: str | Sequence[str] | None = None,
    owner: str | None = None,
    kind: str | None = None,
    phase: str | None = None,
    worker: str | None = None,
    text: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[tuple[Any, ...]]:
    """Like `find`, but only `columns` (each row a tuple in their order), as stored: JSON
    columns as JSON text, times as ISO text; `status` may name several, `worker` picks the
    jobs a worker runs, `text` the jobs whose name holds it (in any case)."""
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"the jobs view has no columns {sorted(unknown)}")
    where: list[str] = []
    params: list[object] = []
    if isinstance(status, str):
        status = (status,)
    if status is not None:
        where.append(f"status IN ({', '.join('?' * len(status))})")
        params.extend(status)
    filters = (("owner", owner), ("kind", kind), ("phase", phase), ("worker", worker))
    for column, value in filters:
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if text is not None:
        where.append("LOWER(name) LIKE ? ESCAPE '!'")
        params.append("%" + re.sub(r"([!%_])", r"!\1", text.lower()) + "%")
    if before is not None:
        where.append("id < ?")
        params.append(before)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    query = f"SELECT {', '.join(columns)} FROM {{jobs}} {clause}ORDER BY id DESC LIMIT ?"
    return db.values_at_once(query, (*params, limit), columns, REAL_COLUMNS, newest_first=True)


def select_one(db: Database, columns: Sequence[str], job_id: int) -> tuple[Any, ...] | None:
    """Job `job_id`'s row as `select` gives rows (its `columns`, as stored), or None."""
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"the jobs view has no columns {sorted(unknown)}")
    rows = db.values(f"SELECT {', '.join(columns)} FROM {{jobs}} WHERE id = ?", (job_id,))
    return rows[0] if rows else None


def longest_waiting(db: Database, since: str, limit: int) -> list[int]:
    """Queued jobs due since before `since` (ISO text), the longest waiting first; an index
    orders the jobs by status and that time, so this reads only the rows it returns."""
    rows = db.values(
        f"SELECT id FROM {{jobs}} WHERE status = ? AND ({WAITING_SINCE}) < ? "
        f"ORDER BY ({WAITING_SINCE}), id LIMIT ?",
        (Status.QUEUED.value, since, limit),
    )
    return [row[0] for row in rows]


def run_by(db: Database, worker: str) -> list[int]:
    """The jobs the view shows run by `worker` (an index holds only jobs with a worker)."""
    return [row[0] for row in db.values("SELECT id FROM {jobs} WHERE worker = ?", (worker,))]


def counts(db: Database) -> list[tuple[str, str, int]]:
    """How many jobs there are of each status and kind."""
    rows = db.all("SELECT status, kind, COUNT(*) AS n FROM {jobs} GROUP BY status, kind")
    return [(row["status"], row["kind"], int(row["n"])) for row in rows]


def waiting(db: Database, now: str) -> int:
    """How many queued jobs are due (`not_before` passed, as ISO text in UTC) at `now`."""
    row = db.one(
        "SELECT COUNT(*) AS n FROM {jobs} "
        "WHERE status = ? AND (not_before IS NULL OR not_before <= ?)",
        ("queued", now),
    )
    return int(row["n"]) if row else 0


def running_by_worker(db: Database) -> list[tuple[str, int]]:
    """How many jobs each worker runs, as the view last saw it."""
    rows = db.all(
        "SELECT worker, COUNT(*) AS n FROM {jobs} WHERE status = ? AND worker IS NOT NULL "
        "GROUP BY worker",
        ("running",),
    )
    return [(row["worker"], int(row["n"])) for row in rows]


def active_workers(db: Database) -> set[str]:
    """The workers that run, stop or cancel some job, as the view last saw it."""
    rows = db.all(
        "SELECT DISTINCT worker FROM {jobs} WHERE phase = ? AND worker IS NOT NULL", ("running",)
    )
    return {row["worker"] for row in rows}
