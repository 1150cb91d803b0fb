"""How jobs, users and log lines look on the seed's paths, from their v1 representations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobkeeper.domain.lifecycle import LIVE, TERMINAL, Status
from jobkeeper.http.representation import JSONObject
from jobkeeper.http.seed_models import SeedJob, SeedLogLine, SeedUser
from jobkeeper.kinds.seed import SEED_TYPES

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
"""The seed had five status words: every job that is not stopped or over shows as Running."""
JOB_TYPES = {kind: label for label, kind in SEED_TYPES.items()}
SEED_JOB_FIELDS = frozenset(SeedJob.model_fields)
SEED_USER_FIELDS = tuple(SeedUser.model_fields)


def seed_job(job: Mapping[str, Any]) -> JSONObject:
    """A job (as the v1 API shows it) in the seed's fields and words."""
    status = Status(job["status"])
    params = job["params"]
    seed_kind = job["kind"] in JOB_TYPES
    out = {
        "id": job["id"],
        "progress": status in LIVE,
        "status": STATUS_WORDS[status],
        "created": job["created_at"],
        "start_time": params.get("start_time") if seed_kind else job["started_at"],
        "end_time": params.get("end_time") if seed_kind else job["finished_at"],
        "job_type": JOB_TYPES.get(job["kind"], job["kind"]),
        "job_name": job["name"],
        "user": job["owner"],
        "finished": status in TERMINAL,
    }
    assert out.keys() == SEED_JOB_FIELDS
    return out


def seed_user(user: Mapping[str, Any]) -> JSONObject:
    """A user (as the v1 API shows it) in the seed's fields."""
    return {field: user[field] for field in SEED_USER_FIELDS}


def seed_log_line(line: Mapping[str, Any]) -> JSONObject:
    """A log line (as the views hold it) in the seed's fields."""
    out = {"text": line["text"], "created": line["at"]}
    assert out.keys() == SeedLogLine.model_fields.keys()
    return out
