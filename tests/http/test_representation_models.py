"""What representation builds is exactly what the output models (and so the document) say."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobkeeper.http.legacy.models import LegacyJob, LegacyLogLine, LegacyUser
from jobkeeper.http.legacy.representation import legacy_job, legacy_log_line, legacy_user
from jobkeeper.http.v1.representation import (
    history_entry,
    job_from_aggregate,
    job_from_row,
    log_line,
    user_from_aggregate,
    user_from_row,
)
from jobkeeper.http.v1.responses import HistoryEntryOut, JobOut, LogLineOut, UserOut

if TYPE_CHECKING:
    from tests.http.conftest import Api


def exactly(model: type, value: dict[str, object]) -> None:
    """`value` validates as `model`, and dumps back to itself field for field."""
    assert list(value) == list(model.model_fields)  # type: ignore[attr-defined]
    model.model_validate(value)  # type: ignore[attr-defined]


def test_jobs_users_logs_and_history_match_their_models(api: Api, user: str) -> None:
    job = api.submit(**api.SHORT, owner=user)
    api.wait_for_status(job["id"], "succeeded")
    runtime = api.runtime
    aggregate = runtime.app.get_job(job["id"])
    runtime.views.wait(runtime.app.position())
    row = runtime.views.job(job["id"])
    assert row is not None
    for built in (job_from_aggregate(aggregate), job_from_row(row)):
        exactly(JobOut, built)
        exactly(LegacyJob, legacy_job(built))
    assert job_from_aggregate(aggregate) == job_from_row(row)
    exactly(UserOut, user_from_aggregate(runtime.app.get_user(user)))
    users = runtime.views.users(limit=1000)
    for user_row in users:
        exactly(UserOut, user_from_row(user_row))
        exactly(LegacyUser, legacy_user(user_from_row(user_row)))
    lines = runtime.views.logs(job_id=job["id"])
    assert lines
    for line in lines:
        exactly(LogLineOut, log_line(line))
        exactly(LegacyLogLine, legacy_log_line(line))
    for entry in runtime.app.history(job["id"]):
        exactly(HistoryEntryOut, history_entry(entry))
