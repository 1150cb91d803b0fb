"""Snapshots: a shortcut to load a job that never changes what the job is.

For every version of a long job, the job loaded through the snapshots (the newest at or
before that version, then the events after it) equals the job replayed from all of its
events; a load reads only the events after the nearest snapshot. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobkeeper.application.app import JobKeeper, _project
from jobkeeper.domain.job import Job, job_aggregate_id
from jobkeeper.domain.lifecycle import Status
from jobkeeper.settings import Settings
from jobkeeper.stores.postgres import setup_lock
from tests.fakes import RecordingDispatcher

INTERVAL = 7


def open_app(data: Path, database_url: str, interval: int = INTERVAL) -> JobKeeper:
    env = Settings(data=data, database_url=database_url).store_env()
    with setup_lock(env):
        return JobKeeper(env, dispatcher=RecordingDispatcher(), snapshot_interval=interval)


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[JobKeeper]:
    app = open_app(tmp_path, database_url)
    app.create_user(name="alice", by="system")
    yield app
    app.close()


def state(job: Job) -> dict[str, str]:
    """Everything a job is but its pending events, by `repr` so that types count too (a
    status that came back as a plain string, or a tuple that came back a list, differs)."""
    return {k: repr(v) for k, v in sorted(vars(job).items()) if k != "_pending_events"}


def replayed(app: JobKeeper, job_id: int, version: int) -> Job:
    """The job from all of its events up to `version`, without any snapshot."""
    events = app.events.get(job_aggregate_id(job_id), lte=version)
    job = _project(None, events)
    assert isinstance(job, Job) and job.version == version
    return job


def long_job(app: JobKeeper) -> int:
    """A job of every kind of event, over three attempts and many snapshot intervals."""
    job_id = app.submit(kind="sleep", params={"seconds": 9}, owner="alice", by="alice").job.number
    for attempt in range(3):
        run = f"run-{attempt}"
        app.start(job_id, run, "worker-a")
        for step in range(12):
            line = ({"at": "2030-01-01T00:00:00+00:00", "text": f"step {step}"},)
            app.report(job_id, run, step / 12, {"step": step, "pair": (attempt, step)}, line)
        app.stop(job_id, "alice")
        app.complete_stop(job_id, run, 0.5, {"step": 12, "pair": [attempt, 12]}, ())
        app.resume(job_id, "alice")
        app.start(job_id, f"{run}b", "worker-b")
        job = app.get_job(job_id)  # two events in one save, across a snapshot boundary
        for step in range(INTERVAL + 2):
            job.report(f"{run}b", 0.9, {"step": 100 + step}, (), app.clock.now())
        app.save(job)
        app.requeue(job_id, f"{run}b", "worker-b was lost")
        app.start(job_id, f"{run}c", "worker-c")
        if attempt < 2:
            app.fail(job_id, f"{run}c", "disk on fire", ())
            app.restart(job_id, "alice")
        else:
            app.succeed(job_id, f"{run}c", {"count": 3}, ())
    return job_id


def test_the_job_through_snapshots_equals_its_full_replay_at_every_version(
    app: JobKeeper, tmp_path: Path, database_url: str
) -> None:
    job_id = long_job(app)
    latest = app.get_job(job_id).version
    assert latest > 10 * INTERVAL and app.get_job(job_id).status is Status.SUCCEEDED
    assert app.snapshots is not None
    taken = [s.originator_version for s in app.snapshots.get(job_aggregate_id(job_id))]
    assert len(taken) >= latest // INTERVAL - 1  # one per interval (a save may straddle one)
    assert all(b - a <= 2 * INTERVAL + 2 for a, b in itertools.pairwise(taken))
    cold = open_app(tmp_path, database_url)  # nothing cached: every load starts from the store
    for version in range(1, latest + 1):
        expected = state(replayed(app, job_id, version))
        assert state(cold.get_job(job_id, version=version)) == expected, version
    assert state(cold.get_job(job_id)) == state(replayed(app, job_id, latest))
    assert state(cold.get_job(job_id)) == state(app.get_job(job_id))
    cold.close()


def test_a_load_reads_only_the_events_after_the_nearest_snapshot(
    app: JobKeeper, tmp_path: Path, database_url: str
) -> None:
    job_id = long_job(app)
    assert app.snapshots is not None
    taken = [s.originator_version for s in app.snapshots.get(job_aggregate_id(job_id))]
    cold = open_app(tmp_path, database_url)
    reads: list[tuple[int | None, int | None]] = []
    store_get = cold.repository.event_store.get

    def counting_get(originator_id: Any, **kwargs: Any) -> Any:
        reads.append((kwargs.get("gt"), kwargs.get("lte")))
        return store_get(originator_id, **kwargs)

    cold.repository.event_store.get = counting_get  # type: ignore[method-assign]
    latest = cold.get_job(job_id).version
    version = taken[3] + 2
    assert cold.get_job(job_id, version=version).version == version
    cold.close()
    assert reads == [(taken[-1], None), (taken[3], version)], (reads, taken, latest)
    assert latest - taken[-1] < 2 * INTERVAL + 2


def test_snapshots_off_replays_every_event(tmp_path: Path, database_url: str) -> None:
    app = open_app(tmp_path, database_url, interval=0)
    app.create_user(name="alice", by="system")
    job_id = long_job(app)
    assert app.snapshots is None
    later = open_app(tmp_path, database_url)  # snapshots on again: the old job loads the same
    assert state(later.get_job(job_id)) == state(replayed(app, job_id, app.get_job(job_id).version))
    later.close()
    app.close()
