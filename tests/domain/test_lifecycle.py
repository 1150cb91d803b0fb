"""Every transition of DESIGN.md's table, allowed and forbidden, on the Job aggregate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobkeeper.domain.errors import StaleRunError, TransitionError
from jobkeeper.domain.job import SYSTEM, Job
from jobkeeper.domain.lifecycle import Status

RUN = "run-1"
AT = datetime(2030, 1, 1, tzinfo=UTC)


def submitted() -> Job:
    return Job.submit(
        number=1, owner="alice", kind="sleep", name="nap", params={"seconds": 5},
        not_before=None, deadline=None, by="alice", at=AT,
    )  # fmt: skip


def job_in(status: str) -> Job:
    """A job driven to `status` through its commands."""
    job = submitted()
    if status == "queued":
        return job
    if status in ("stopped", "cancelled"):
        getattr(job, {"stopped": "stop", "cancelled": "cancel"}[status])("alice", AT)
        return job
    job.start(RUN, "worker-1", AT)
    if status == "stopping":
        job.stop("alice", AT)
    elif status == "cancelling":
        job.cancel("alice", AT)
    elif status == "succeeded":
        job.succeed(RUN, {"ok": True}, (), AT)
    elif status == "failed":
        job.fail(RUN, "broken", (), AT)
    assert job.status.value == status
    return job


# (status, command) -> the status after, "no change", or "forbidden"
EXPECTED = {
    ("queued", "stop"): "stopped",
    ("running", "stop"): "stopping",
    ("stopping", "stop"): "no change",
    ("stopped", "stop"): "no change",
    ("cancelling", "stop"): "forbidden",
    ("cancelled", "stop"): "forbidden",
    ("succeeded", "stop"): "forbidden",
    ("failed", "stop"): "forbidden",
    ("stopped", "resume"): "queued",
    ("queued", "resume"): "no change",
    ("running", "resume"): "no change",
    ("stopping", "resume"): "forbidden",
    ("cancelling", "resume"): "forbidden",
    ("cancelled", "resume"): "forbidden",
    ("succeeded", "resume"): "forbidden",
    ("failed", "resume"): "forbidden",
    ("queued", "cancel"): "cancelled",
    ("stopped", "cancel"): "cancelled",
    ("running", "cancel"): "cancelling",
    ("stopping", "cancel"): "cancelling",
    ("cancelling", "cancel"): "no change",
    ("cancelled", "cancel"): "no change",
    ("succeeded", "cancel"): "forbidden",
    ("failed", "cancel"): "forbidden",
    ("stopped", "restart"): "queued",
    ("succeeded", "restart"): "queued",
    ("failed", "restart"): "queued",
    ("cancelled", "restart"): "queued",
    ("queued", "restart"): "forbidden",
    ("running", "restart"): "forbidden",
    ("stopping", "restart"): "forbidden",
    ("cancelling", "restart"): "forbidden",
}


def test_the_table_covers_every_status_and_command() -> None:
    assert {s for s, _ in EXPECTED} == {s.value for s in Status}
    assert {c for _, c in EXPECTED} == {"stop", "resume", "cancel", "restart"}
    assert len(EXPECTED) == len(Status) * 4


@pytest.mark.parametrize(("status", "command"), sorted(EXPECTED))
def test_command_from_status(status: str, command: str) -> None:
    job = job_in(status)
    version = job.version
    expected = EXPECTED[(status, command)]
    if expected == "forbidden":
        with pytest.raises(TransitionError) as raised:
            getattr(job, command)("bob", AT)
        message = str(raised.value)
        assert status in message and command in message
        assert raised.value.status == status
        assert command not in raised.value.allowed
        assert job.version == version
    elif expected == "no change":
        assert getattr(job, command)("bob", AT) is False
        assert job.version == version and job.status.value == status
    else:
        assert getattr(job, command)("bob", AT) is True
        assert job.status.value == expected
        assert job.version == version + 1
        assert job.collect_events()[-1].by == "bob"


def test_forbidden_command_names_the_allowed_ones() -> None:
    with pytest.raises(TransitionError, match=r"allowed from stopping: cancel$"):
        job_in("stopping").resume("alice", AT)
    with pytest.raises(TransitionError, match=r"allowed from cancelling: none$"):
        job_in("cancelling").stop("alice", AT)


def test_restart_begins_a_new_attempt_from_scratch() -> None:
    job = job_in("running")
    job.report(RUN, 0.5, {"next": 5}, ({"at": "t", "text": "half"},), AT)
    job.fail(RUN, "broken", (), AT)
    job.restart("alice", AT)
    assert (job.status, job.attempt, job.progress, job.checkpoint) == (Status.QUEUED, 2, 0.0, None)
    assert job.error is None and job.finished_at is None


def test_resume_keeps_the_checkpoint() -> None:
    job = job_in("running")
    job.report(RUN, 0.25, {"next": 3}, (), AT)
    job.stop("alice", AT)
    job.complete_stop(RUN, 0.3, {"next": 4}, (), AT)
    job.resume("alice", AT)
    assert (job.status, job.progress, job.checkpoint, job.attempt) == (
        Status.QUEUED, 0.3, {"next": 4}, 1,
    )  # fmt: skip


def test_runtime_events_from_a_stale_run_are_refused() -> None:
    job = job_in("running")
    with pytest.raises(StaleRunError):
        job.report("another-run", 0.1, None, (), AT)
    job.stop("alice", AT)
    job.complete_stop(RUN, 0.1, None, (), AT)
    with pytest.raises(StaleRunError):
        job.succeed(RUN, {}, (), AT)


def test_only_a_queued_job_starts() -> None:
    job = job_in("running")
    with pytest.raises(TransitionError):
        job.start("run-2", "worker-2", AT)


def test_every_event_says_when_and_who() -> None:
    job = job_in("running")
    job.stop("carol", AT)
    job.complete_stop(RUN, 0.5, 7, (), AT)
    events = job.collect_events()
    assert [type(e).__name__ for e in events] == ["Submitted", "Started", "StopRequested", "Stopped"]
    assert [e.by for e in events] == ["alice", SYSTEM, "carol", SYSTEM]
    assert all(e.timestamp.tzinfo is not None for e in events)


def test_requeue_finishes_a_pending_stop_or_cancel() -> None:
    stopping = job_in("stopping")
    stopping.requeue(RUN, "worker lost", AT)
    assert stopping.status is Status.STOPPED
    cancelling = job_in("cancelling")
    cancelling.requeue(RUN, "worker lost", AT)
    assert cancelling.status is Status.CANCELLED
    running = job_in("running")
    running.requeue(RUN, "worker lost", AT)
    assert running.status is Status.QUEUED and running.run_id is None


def test_every_event_carries_the_time_it_was_given() -> None:
    job = submitted()
    later = AT.replace(hour=1)
    job.start(RUN, "worker-1", later)
    job.stop("alice", later.replace(minute=5))
    assert [e.timestamp for e in job.collect_events()] == [
        AT, later, later.replace(minute=5),
    ]  # fmt: skip
    assert job.created_at == AT and job.started_at == later
