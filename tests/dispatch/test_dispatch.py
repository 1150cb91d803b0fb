"""Dispatch through dramatiq, and commands racing with running jobs."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.domain.errors import TransitionError
from jobkeeper.domain.lifecycle import TERMINAL
from tests.conftest import SCALED_MARKS, backend_settings, wait_for_status, wait_until


@pytest.fixture(
    params=[
        "embedded",
        pytest.param("scaled", marks=SCALED_MARKS),
        pytest.param("rabbitmq", marks=[pytest.mark.postgres, pytest.mark.rabbitmq]),
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The dispatch tests also run on RabbitMQ."""
    with backend_settings(request.param) as settings:
        yield settings


def test_the_run_message_is_done_while_the_long_job_still_runs(runtime: Runtime) -> None:
    """A delivery only launches the job, so no task time limit or retry can cut a long job."""
    job_id = runtime.app.submit(
        kind="sleep", params={"seconds": 60, "step": 0.05}, owner="admin", by="admin"
    ).job.number
    wait_for_status(runtime, job_id, "running")
    runtime.broker.join(runtime.settings.queue, timeout=5000)  # every message acknowledged
    assert runtime.app.get_job(job_id).status.value == "running"
    runtime.app.cancel(job_id, "admin")
    wait_for_status(runtime, job_id, "cancelled")


def test_the_views_can_be_waited_on_for_a_position(runtime: Runtime) -> None:
    outcome = runtime.app.submit(kind="sleep", params={"seconds": 0.1}, owner="admin", by="admin")
    assert outcome.position is not None
    assert runtime.views.wait(outcome.position, timeout=2)
    assert runtime.views.job(outcome.job.number) is not None
    assert not runtime.views.wait(outcome.position + 10_000, timeout=0.05)


def test_commands_racing_with_running_jobs_leave_valid_histories(runtime: Runtime) -> None:
    jobs = [
        runtime.app.submit(
            kind="sleep", params={"seconds": 2, "step": 0.02}, owner="admin", by="admin"
        ).job.number
        for _ in range(4)
    ]
    accepted: Counter[int] = Counter()
    lock = threading.Lock()

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(25):
            job_id = rng.choice(jobs)
            command = rng.choice(["stop", "resume", "cancel"])
            try:
                if command == "resume":
                    outcome = runtime.app.resume(job_id, "admin")
                else:
                    outcome = getattr(runtime.app, command)(job_id, "admin")
            except TransitionError:
                continue
            if outcome.changed:
                with lock:
                    accepted[job_id] += 1

    threads = [threading.Thread(target=hammer, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for job_id in jobs:
        try:
            if runtime.app.cancel(job_id, "admin").changed:
                accepted[job_id] += 1
        except TransitionError:
            pass
    for job_id in jobs:
        wait_until(lambda j=job_id: runtime.app.get_job(j).status in TERMINAL, timeout=30)
        history = runtime.app.history(job_id)
        by_users = [h for h in history if h.by != "system"]
        assert len(by_users) == 1 + accepted[job_id]  # the submit, then each accepted command
        assert [h.version for h in history] == list(range(1, len(history) + 1))
        assert sum(h.type in ("Succeeded", "Failed", "Cancelled") for h in history) == 1
