"""How jobs, users and log lines look on the legacy paths, from their v1 representations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from jobkeeper.domain.lifecycle import LIVE, TERMINAL, Status
from jobkeeper.http.legacy.models import LegacyJob, LegacyLogLine, LegacyUser
from jobkeeper.http.v1.representation import JSONObject
from jobkeeper.kinds.legacy import LEGACY_TYPES

STATUS_WORDS = {
    Status.QUEUED: "Running",
    Status.RUNNING: "Running",
    Status.STOPPING: "Running",
    Status.CANCELLING: "Running",
    Status.STOPPED: "Stopped",
    Status.SUCCEEDED: "Success",
    Status.FAILED: "Failed",
    Status.CANCELLED: "Cancelled",
}
"""Five status words: every job that is neither stopped nor over shows as Running."""
JOB_TYPES = {kind: label for label, kind in LEGACY_TYPES.items()}
LEGACY_JOB_FIELDS = frozenset(LegacyJob.model_fields)
LEGACY_USER_FIELDS = tuple(LegacyUser.model_fields)


def legacy_job(job: Mapping[str, Any]) -> JSONObject:
    """A job (as the v1 API shows it) in the older service's fields and words."""
    status = Status(job["status"])
    params = job["params"]
    legacy_kind = job["kind"] in JOB_TYPES
    out = {
        "id": job["id"],
        "progress": status in LIVE,
        "status": STATUS_WORDS[status],
        "created": job["created_at"],
        "start_time": params.get("start_time") if legacy_kind else job["started_at"],
        "end_time": params.get("end_time") if legacy_kind else job["finished_at"],
        "job_type": JOB_TYPES.get(job["kind"], job["kind"]),
        "job_name": job["name"],
        "user": job["owner"],
        "finished": status in TERMINAL,
    }
    assert out.keys() == LEGACY_JOB_FIELDS
    return out


STORED_FIELDS = (
    "id", "status", "created_at", "kind", "params", "started_at", "finished_at", "name", "owner",
)  # fmt: skip
"""The jobs view's columns a legacy job is made of (see `legacy_job_from_stored`)."""


def legacy_job_from_stored(values: Sequence[Any]) -> JSONObject:
    """A legacy job from a jobs view row as stored (STORED_FIELDS, times as ISO text: what
    the v1 representation of the decoded row writes); only a legacy kind's params are read."""
    job = dict(zip(STORED_FIELDS, values, strict=True))
    job["params"] = orjson.loads(job["params"]) if job["kind"] in JOB_TYPES else {}
    return legacy_job(job)


def legacy_user(user: Mapping[str, Any]) -> JSONObject:
    """A user (as the v1 API shows it) in the older service's fields."""
    return {field: user[field] for field in LEGACY_USER_FIELDS}


def legacy_log_line(line: Mapping[str, Any]) -> JSONObject:
    """A log line (as the views hold it) in the older service's fields."""
    out = {"text": line["text"], "created": line["at"]}
    assert out.keys() == LegacyLogLine.model_fields.keys()
    return out
