"""A job that runs across many snapshots: stopped and resumed at any point, it ends exact."""

from __future__ import annotations

from collections.abc import Callable

from jobkeeper.application.app import _project
from jobkeeper.bootstrap import Runtime, open_app
from jobkeeper.domain.job import Job, job_aggregate_id
from tests.actors.test_runs import PRIMES_TO_200K
from tests.conftest import wait_for_status, wait_until

INTERVAL = 3


def test_primes_stopped_and_resumed_across_snapshot_boundaries_gives_the_exact_count(
    runtime_factory: Callable[..., Runtime],
) -> None:
    runtime = runtime_factory(snapshot_interval=INTERVAL)
    app = runtime.app
    job_id = app.submit(
        kind="primes", params={"limit": 200_000, "chunk": 2000, "delay": 0.01},
        owner="admin", by="admin",
    ).job.number  # fmt: skip
    stream = job_aggregate_id(job_id)
    assert app.snapshots is not None
    for round_ in range(4):
        wait_for_status(runtime, job_id, "running")
        # stop only once a snapshot newer than the last stop is in place
        mark = app.get_job(job_id).version
        wait_until(lambda: any(s.originator_version > mark for s in app.snapshots.get(stream)))  # noqa: B023
        app.stop(job_id, "admin")
        wait_for_status(runtime, job_id, "stopped")
        cold = open_app(runtime.settings)  # as a fresh process loads it: from a snapshot
        assert cold.get_job(job_id).checkpoint == app.get_job(job_id).checkpoint, round_
        assert app.get_job(job_id).checkpoint["next"] > 0
        cold.close()
        app.resume(job_id, "admin")
    done = wait_for_status(runtime, job_id, "succeeded", "failed", timeout=60)
    assert done.result == {"count": PRIMES_TO_200K}
    taken = [s.originator_version for s in app.snapshots.get(stream)]
    assert len(taken) >= done.version // INTERVAL - 4
    cold = open_app(runtime.settings)  # a fresh process's view: snapshot, then a few events
    loaded = cold.get_job(job_id)
    full = _project(None, app.events.get(stream))
    assert isinstance(full, Job) and loaded.version == full.version == done.version
    assert {k: repr(v) for k, v in vars(loaded).items() if k != "_pending_events"} == {
        k: repr(v) for k, v in vars(full).items() if k != "_pending_events"
    }
    assert loaded.result == {"count": PRIMES_TO_200K}
    cold.close()
