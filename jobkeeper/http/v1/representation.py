"""How jobs, users, log lines and history look in the v1 API, from aggregates and view rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from jobkeeper.application.history import HistoryEntry
from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import Status, allowed_commands
from jobkeeper.domain.tokens import NewToken
from jobkeeper.domain.user import User
from jobkeeper.http.media import plain
from jobkeeper.http.v1.responses import HistoryEntryOut, JobOut, LogLineOut, TokenOut, UserOut
from jobkeeper.projections.jobs import JSON_COLUMNS

JSONObject = dict[str, Any]
# The fields come from the output models, so an answer has exactly what the OpenAPI document says.
JOB_FIELDS = tuple(field for field in JobOut.model_fields if field != "allowed_commands")
USER_FIELDS = tuple(UserOut.model_fields)
LOG_FIELDS = tuple(LogLineOut.model_fields)
HISTORY_FIELDS = tuple(HistoryEntryOut.model_fields)
STORED_JSON = tuple(column for column in JSON_COLUMNS if column in JOB_FIELDS)
ALLOWED_COMMANDS = {status.value: allowed_commands(status) for status in Status}
TOKEN_FIELDS = tuple(field for field in TokenOut.model_fields if field != "token_id")


def job_from_aggregate(job: Job) -> JSONObject:
    """A job as the aggregate holds it."""
    return _job({field: _attribute(job, field) for field in JOB_FIELDS})


def job_from_row(row: Mapping[str, Any]) -> JSONObject:
    """A job as a view row holds it."""
    return _job({**row, "status": Status(row["status"])})


def job_from_stored(values: Sequence[Any]) -> JSONObject:
    """A job from a jobs view row as stored, its values in JOB_FIELDS order (see
    `Views.stored_jobs`): no decoding.

    The JSON columns go out as the JSON text they hold and the times as the ISO text they
    hold, which is what `job_from_row` would write after decoding them.
    """
    out = dict(zip(JOB_FIELDS, values, strict=True))
    for column in STORED_JSON:
        value = out[column]
        out[column] = None if value is None else orjson.Fragment(value)
    out["allowed_commands"] = list(ALLOWED_COMMANDS[out["status"]])
    return out


def _job(values: Mapping[str, Any]) -> JSONObject:
    out = {field: plain(values[field]) for field in JOB_FIELDS}
    out["allowed_commands"] = list(allowed_commands(values["status"]))
    return out


def _attribute(aggregate: Job | User, field: str) -> Any:
    """An aggregate's value of an answer's field; the answer's `id` is the aggregate's number."""
    return aggregate.number if field == "id" else getattr(aggregate, field)


def user_from_aggregate(user: User) -> JSONObject:
    """A user as the aggregate holds it."""
    return {field: plain(_attribute(user, field)) for field in USER_FIELDS}


def user_from_row(row: Mapping[str, Any]) -> JSONObject:
    """A user as the users view holds it."""
    return {field: plain(row[field]) for field in USER_FIELDS}


def token_from_record(token_id: str, record: Mapping[str, str]) -> JSONObject:
    """A user's token as the aggregate records it, without its digest."""
    return {"token_id": token_id, **{field: record[field] for field in TOKEN_FIELDS}}


def new_token(issued: NewToken, label: str) -> JSONObject:
    """A token as issued, shown this once."""
    return {"token_id": issued.token_id, "token": issued.token, "label": label}


def log_line(row: Mapping[str, Any]) -> JSONObject:
    """A log line as the logs view holds it."""
    return {field: row[field] for field in LOG_FIELDS}


def history_entry(entry: HistoryEntry) -> JSONObject:
    """One recorded event of a job."""
    return {field: plain(getattr(entry, field)) for field in HISTORY_FIELDS}
