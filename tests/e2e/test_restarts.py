"""The service stops, crashes and starts again on the same data folder; no job is lost or run twice."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import Server, events_of

pytestmark = pytest.mark.e2e

PRIMES = {200_000: 17984, 1_000_000: 78498}
# Each takes four seconds or so: long enough to be caught running, short enough for a test.
SLOW = {
    1_000_000: {"limit": 1_000_000, "chunk": 1000, "delay": 0.004},
    200_000: {"limit": 200_000, "chunk": 1000, "delay": 0.02},
}


def assert_ran_once_and_recovered(history: list[dict[str, Any]], reason_word: str = "") -> None:
    """One terminal event, and every hand-back (by the system) followed by exactly one new run."""
    types = [entry["type"] for entry in history]
    assert len(events_of(history, "Succeeded", "Failed", "Cancelled")) == 1, types
    assert types[-1] == "Succeeded", types
    requeued = events_of(history, "Requeued")
    assert requeued, types
    assert all(entry["by"] == "system" for entry in requeued)
    assert reason_word in requeued[0]["data"]["reason"]
    assert types.count("Started") == len(requeued) + 1, types


def progress_before_and_after(history: list[dict[str, Any]]) -> tuple[int, int | None]:
    """The checkpoint saved before the first hand-back, and the first one saved after it."""
    types = [entry["type"] for entry in history]
    cut = types.index("Requeued")
    before = events_of(history[:cut], "Progressed", "Stopped")
    assert before, f"no checkpoint before the hand-back: {types}"
    after = events_of(history[cut:], "Progressed")
    first_after = after[0]["data"]["checkpoint"]["next"] if after else None
    return before[-1]["data"]["checkpoint"]["next"], first_after


def test_jobs_killed_with_the_server_finish_after_the_next_start(
    start_server: Callable[..., Server],
) -> None:
    first = start_server()
    jobs = {
        first.submit("primes", **SLOW[1_000_000]): 1_000_000,
        first.submit("primes", **SLOW[1_000_000]): 1_000_000,
        first.submit("primes", **SLOW[200_000]): 200_000,
    }
    sleeper = first.submit("sleep", seconds=3, step=0.1)
    for job_id in jobs:
        first.wait_progress(job_id)
    first.wait_progress(sleeper)

    first.signal(signal.SIGKILL)
    assert first.wait_exit(10) is not None

    second = start_server(first.data)
    for job_id, limit in jobs.items():
        done = second.wait_status(job_id, "succeeded", "failed", "cancelled", timeout=40)
        assert done["status"] == "succeeded"
        assert done["result"] == {"count": PRIMES[limit]}
        history = second.history(job_id)
        assert_ran_once_and_recovered(history, "restarted")
        before, after = progress_before_and_after(history)
        assert before > 0 and (after is None or after >= before)
    done = second.wait_status(sleeper, "succeeded", "failed", "cancelled", timeout=20)
    assert done["status"] == "succeeded" and done["result"] == {"slept": 3}
    assert_ran_once_and_recovered(second.history(sleeper), "restarted")


def test_sigterm_checkpoints_the_running_job_and_the_next_start_continues_it(
    start_server: Callable[..., Server],
) -> None:
    first = start_server()
    job_id = first.submit("primes", **SLOW[1_000_000])
    assert first.wait_progress(job_id)["checkpoint"]["next"] > 0  # a checkpoint to keep

    stopping = time.monotonic()
    first.signal(signal.SIGTERM)
    code = first.wait_exit(15)
    assert code is not None, f"still running 15 s after SIGTERM:\n{first.output()}"
    assert code == 0, first.output()
    assert time.monotonic() - stopping < 15

    second = start_server(first.data)
    done = second.wait_status(job_id, "succeeded", "failed", timeout=40)
    assert done["status"] == "succeeded" and done["result"] == {"count": PRIMES[1_000_000]}
    history = second.history(job_id)
    assert_ran_once_and_recovered(history, "shutting down")
    before, after = progress_before_and_after(history)
    assert before > 0 and (after is None or after >= before)
    texts = [line["text"] for line in second.get(f"/jobs/{job_id}/logs")["items"]]
    assert f"counting primes from {before} to 1000000" in texts


def test_a_second_start_on_the_same_folder_sees_and_continues_the_first_ones_jobs(
    start_server: Callable[..., Server],
) -> None:
    first = start_server()
    finished = first.submit("sleep", seconds=0.2, step=0.1)
    paused = first.submit("primes", **SLOW[200_000])
    first.wait_status(finished, "succeeded")
    first.wait_progress(paused)
    first.post(f"/jobs/{paused}/stop")
    checkpoint = first.wait_status(paused, "stopped")["checkpoint"]
    first.stop()

    # Flags win over the environment: these would point elsewhere.
    second = start_server(first.data, env={"JOBKEEPER_PORT": "1", "JOBKEEPER_DATA": "/nowhere"})
    assert f"listening on {second.url} (data: {first.data})" in second.output()
    assert second.job(finished)["status"] == "succeeded"
    assert second.job(paused)["status"] == "stopped"
    assert second.job(paused)["checkpoint"] == checkpoint
    assert {finished, paused} <= set(second.ids("/jobs"))
    assert finished in second.ids("/jobs/finished")
    newer = second.submit("sleep", seconds=0.2, step=0.1)
    assert newer > paused  # numbering goes on
    second.post(f"/jobs/{paused}/resume")
    done = second.wait_status(paused, "succeeded", timeout=30)
    assert done["result"] == {"count": PRIMES[200_000]}
    assert second.wait_status(newer, "succeeded")["attempt"] == 1
    assert second.ids("/users/admin/jobs")[:3] == [newer, paused, finished]
