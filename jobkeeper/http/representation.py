"""How jobs, users, log lines and history look in JSON, from aggregates and view rows alike."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from jobkeeper.domain.application import HistoryEntry
from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import Status, allowed_commands
from jobkeeper.domain.user import User

JSONObject = dict[str, Any]
JOB_FIELDS = (
    "id", "name", "kind", "owner", "params", "status", "progress", "attempt", "checkpoint",
    "result", "error", "created_at", "started_at", "finished_at", "not_before", "deadline",
    "version",
)  # fmt: skip


def job_from_aggregate(job: Job) -> JSONObject:
    """A job as the aggregate holds it."""
    return _job({field: getattr(job, field) for field in JOB_FIELDS[1:]} | {"id": job.number})


def job_from_row(row: Mapping[str, Any]) -> JSONObject:
    """A job as a view row holds it."""
    return _job({**row, "status": Status(row["status"])})


def _job(values: Mapping[str, Any]) -> JSONObject:
    out = {field: plain(values[field]) for field in JOB_FIELDS}
    out["allowed_commands"] = list(allowed_commands(values["status"]))
    return out


def user_from_aggregate(user: User) -> JSONObject:
    """A user as the aggregate holds it."""
    return {
        "id": user.number, "name": user.name, "surname": user.surname, "title": user.title,
        "role": user.role, "created_at": plain(user.created_at),
    }  # fmt: skip


def user_from_row(row: Mapping[str, Any]) -> JSONObject:
    """A user as the users view holds it."""
    fields = ("id", "name", "surname", "title", "role", "created_at")
    return {field: plain(row[field]) for field in fields}


def log_line(row: Mapping[str, Any]) -> JSONObject:
    """A log line as the logs view holds it."""
    return {field: row[field] for field in ("id", "job_id", "line", "at", "text")}


def history_entry(entry: HistoryEntry) -> JSONObject:
    """One recorded event of a job."""
    return {
        "version": entry.version, "type": entry.type, "at": plain(entry.at), "by": entry.by,
        "data": plain(entry.data),
    }  # fmt: skip


def plain(value: Any) -> Any:
    """`value` with datetimes as ISO-8601 strings, enums as their values, tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Status):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_json(value: object) -> bytes:
    """`value` as JSON bytes; whatever orjson cannot write natively becomes its string."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
