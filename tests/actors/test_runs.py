"""Jobs run by actors: stop, resume, cancel, restart, failure, deadlines and limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from jobkeeper.bootstrap import Runtime
from jobkeeper.kinds.primes import base_primes
from tests.conftest import wait_for_status, wait_until

PRIMES_TO_200K = 17984


def submit(runtime: Runtime, kind: str, **params: object) -> int:
    outcome = runtime.app.submit(kind=kind, params=params, owner="admin", by="admin")
    return int(outcome.job.number)


def test_base_sieve_agrees_with_the_known_count() -> None:
    assert len(base_primes(200_000)) == PRIMES_TO_200K


def test_primes_stopped_and_resumed_five_times_gives_the_exact_count(runtime: Runtime) -> None:
    runtime.app.create_user(name="alice", by="admin")
    job_id = runtime.app.submit(
        kind="primes", params={"limit": 200_000, "chunk": 1000, "delay": 0.01},
        owner="alice", by="admin",
    ).job.number  # fmt: skip
    checkpoints = []
    for _ in range(5):
        wait_for_status(runtime, job_id, "running")
        wait_until(lambda: runtime.app.get_job(job_id).checkpoint is not None)
        before = runtime.app.get_job(job_id).progress
        runtime.app.stop(job_id, "alice" if len(checkpoints) % 2 else "admin")
        stopped = wait_for_status(runtime, job_id, "stopped")
        assert stopped.progress >= before
        checkpoints.append(stopped.checkpoint["next"])
        runtime.app.resume(job_id, "alice")
    done = wait_for_status(runtime, job_id, "succeeded", "failed", timeout=60)
    assert done.result == {"count": PRIMES_TO_200K}
    assert checkpoints == sorted(checkpoints) and checkpoints[0] > 0
    history = runtime.app.history(job_id)
    stops = [h for h in history if h.type == "StopRequested"]
    resumes = [h for h in history if h.type == "Resumed"]
    assert len(stops) == 5 and len(resumes) == 5
    assert [h.by for h in stops] == ["admin", "alice", "admin", "alice", "admin"]
    assert all(h.at.tzinfo is not None for h in stops + resumes)
    paused = [h for h in history if h.type == "Stopped"]
    assert [h.data["checkpoint"]["next"] for h in paused] == checkpoints
    assert sum(h.type == "Succeeded" for h in history) == 1


def test_cancel_a_running_job(runtime: Runtime) -> None:
    job_id = submit(runtime, "sleep", seconds=30, step=0.05)
    wait_for_status(runtime, job_id, "running")
    assert runtime.app.cancel(job_id, "admin").job.status.value == "cancelling"
    job = wait_for_status(runtime, job_id, "cancelled")
    assert job.finished_at is not None and job.result is None


def test_restart_runs_a_new_attempt_from_scratch(runtime: Runtime) -> None:
    job_id = submit(runtime, "primes", limit=50_000, chunk=1000)
    wait_for_status(runtime, job_id, "succeeded")
    runtime.app.restart(job_id, "admin")
    job = wait_for_status(runtime, job_id, "succeeded")
    assert job.attempt == 2 and job.result == {"count": 5133}
    starts = [h for h in runtime.app.history(job_id) if h.type == "Started"]
    assert len(starts) == 2


def test_a_failing_kind_fails_the_job_and_logs_the_traceback(runtime: Runtime) -> None:
    job_id = submit(runtime, "fail", after_steps=2, message="disk on fire")
    job = wait_for_status(runtime, job_id, "failed")
    assert job.error == "disk on fire"
    wait_until(lambda: runtime.views.job(job_id) and runtime.views.job(job_id)["status"] == "failed")
    texts = [line["text"] for line in runtime.views.logs(job_id)]
    assert "step 2 of 2" in texts
    assert any("Traceback" in t for t in texts) and any("disk on fire" in t for t in texts)


def test_a_passed_deadline_fails_the_job_with_the_reason(runtime: Runtime) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=0.5)
    outcome = runtime.app.submit(
        kind="sleep", params={"seconds": 30, "step": 0.05}, owner="admin", by="admin",
        deadline=deadline,
    )  # fmt: skip
    job = wait_for_status(runtime, outcome.job.number, "failed")
    assert "deadline" in (job.error or "") and "passed" in (job.error or "")


def test_not_before_delays_the_start(runtime: Runtime) -> None:
    start = datetime.now(UTC) + timedelta(seconds=1)
    outcome = runtime.app.submit(
        kind="sleep", params={"seconds": 0.1}, owner="admin", by="admin", not_before=start
    )
    time.sleep(0.3)
    assert runtime.app.get_job(outcome.job.number).status.value == "queued"
    job = wait_for_status(runtime, outcome.job.number, "succeeded")
    assert job.started_at is not None and job.started_at >= start


def test_max_running_limits_the_live_jobs(runtime_factory) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(max_running=2)
    jobs = [submit(runtime, "sleep", seconds=0.6, step=0.1) for _ in range(5)]
    peak = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = [runtime.app.get_job(j).status.value for j in jobs]
        peak = max(peak, statuses.count("running"))
        if all(s == "succeeded" for s in statuses):
            break
        time.sleep(0.02)
    assert all(runtime.app.get_job(j).status.value == "succeeded" for j in jobs)
    assert peak == 2


def test_duplicate_deliveries_never_run_a_job_twice(runtime: Runtime) -> None:
    job_id = submit(runtime, "sleep", seconds=0.5, step=0.1)
    for _ in range(10):
        runtime.jobs.dispatch(job_id)
    wait_for_status(runtime, job_id, "succeeded")
    for _ in range(5):
        runtime.jobs.dispatch(job_id)
    time.sleep(0.3)
    history = runtime.app.history(job_id)
    assert sum(h.type == "Started" for h in history) == 1
    assert sum(h.type == "Succeeded" for h in history) == 1


def test_progress_and_logs_are_recorded_in_batches(runtime_factory) -> None:  # type: ignore[no-untyped-def]
    runtime = runtime_factory(checkpoint_interval=0.5)
    job_id = submit(runtime, "primes", limit=400_000, chunk=1000, delay=0.005)
    wait_for_status(runtime, job_id, "succeeded", timeout=60)
    progressed = [h for h in runtime.app.history(job_id) if h.type == "Progressed"]
    # 400 steps of about 5 ms each: far fewer events than steps
    assert 1 <= len(progressed) < 40


def test_a_kind_changing_its_params_or_checkpoint_does_not_change_the_job() -> None:
    from jobkeeper.actors.run_context import RunContext

    params, checkpoint = {"limit": 10, "nested": {"a": [1]}}, {"done": [1, 2]}
    context = RunContext(params, checkpoint)
    context.params["nested"]["a"].append(2)
    context.checkpoint["done"].clear()
    assert params == {"limit": 10, "nested": {"a": [1]}} and checkpoint == {"done": [1, 2]}


def test_a_kind_reporting_a_progress_that_is_not_a_number_fails_its_job(runtime: Runtime) -> None:
    from pydantic import BaseModel

    from jobkeeper.kinds import Kind, Step

    class Params(BaseModel):
        progress: str = "nan"

    def run(ctx: Any) -> Any:
        yield Step(progress=float(ctx.params["progress"]), checkpoint=None)
        return None

    runtime.kinds.add(Kind(name="odd", summary="Reports odd progress.", params=Params, run=run))
    for odd in ("nan", "inf"):
        job = wait_for_status(runtime, submit(runtime, "odd", progress=odd), "failed")
        assert "progress that is not a number" in (job.error or "")
    assert runtime.views.wait(runtime.app.position(), 5)  # the views took every event
