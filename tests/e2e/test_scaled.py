"""Scaled mode end to end: two API processes, three workers and a projector on PostgreSQL + Redis."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SCALED_MARKS
from tests.e2e.cluster import scaled_cluster
from tests.e2e.harness import TERMINAL, wait_for

pytestmark = [pytest.mark.e2e, *SCALED_MARKS]

PRIMES_TO_300K = 25997
ENDINGS = ("Stopped", "Requeued", "Succeeded", "Failed", "Cancelled")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with scaled_cluster(tmp_path) as running:
        assert running.projector is not None
        yield {"apis": running.apis, "workers": running.workers, "projector": running.projector}


def test_fifty_jobs_survive_stops_resumes_and_a_lost_worker(cluster: dict[str, Any]) -> None:
    first, second = cluster["apis"]
    ids = []
    for n in range(50):
        api = first if n % 2 == 0 else second
        ids.append(api.submit("primes", limit=300_000, chunk=10_000, delay=0.2))
    assert sorted(ids) == list(range(1, 51))  # sequential and unique across API processes
    # stop and resume every fifth job through the other API process than submitted it
    chosen = []
    for job_id in ids[::5]:
        other = second if ids.index(job_id) % 2 == 0 else first
        wait_for(lambda o=other, j=job_id: o.job(j)["status"] != "queued", 60, f"job {job_id} started")
        response = other.http.post(f"{other.url}/api/v1/jobs/{job_id}/stop", timeout=10)
        if response.status_code == 200:  # 409: it finished before the stop arrived
            chosen.append(job_id)
    assert len(chosen) >= 5
    for job_id in chosen:
        first.wait_status(job_id, "stopped", timeout=30)
    # a worker dies mid-run
    victim = cluster["workers"][0]
    victim.kill()
    for n, job_id in enumerate(chosen):
        api = first if n % 2 else second
        if api.job(job_id)["status"] == "stopped":
            api.post(f"/jobs/{job_id}/resume")
    # another worker is told to stop: it checkpoints its jobs and hands them back
    leaving = cluster["workers"][1]
    leaving.kill(signal.SIGTERM)
    leaving.process.wait(30)
    assert "jobkeeper worker stopped" in leaving.log.read_text()
    for job_id in ids:
        job = first.wait_status(job_id, *TERMINAL, timeout=120)
        assert job["status"] == "succeeded" and job["result"] == {"count": PRIMES_TO_300K}, job
    lost = handed_back = 0
    for job_id in ids:
        history = second.history(job_id)
        assert sum(h["type"] in ("Succeeded", "Failed", "Cancelled") for h in history) == 1
        assert_runs_never_overlap(history)
        reasons = [h["data"].get("reason", "") for h in history if h["type"] == "Requeued"]
        lost += any("was lost" in r for r in reasons)
        handed_back += any("shutting down" in r for r in reasons)
    assert lost > 0, "the killed worker had live jobs that another worker finished"
    stops = [h for job_id in chosen for h in first.history(job_id) if h["type"] == "StopRequested"]
    assert len(stops) == len(chosen) or all(h["by"] == "admin" for h in stops)
    print(f"{lost} jobs handed back after the lost worker, {handed_back} by the leaving one")


def assert_runs_never_overlap(history: list[dict[str, Any]]) -> None:
    """Each run ends (one ending event) before the next run starts."""
    running = False
    for event in history:
        if event["type"] == "Started":
            assert not running, f"a run started while another was live: {history}"
            running = True
        elif event["type"] in ENDINGS and running:
            running = False
        elif event["type"] == "Progressed":
            assert running, f"progress recorded outside a run: {history}"
    assert not running
