"""The application: numbering, users, time travel, and commands racing on one job."""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from jobkeeper.application.app import JobKeeper
from jobkeeper.application.ports import DispatchError
from jobkeeper.domain.errors import (
    InvalidJobError,
    InvalidUserError,
    JobNotFoundError,
    StaleRunError,
    TransitionError,
    UserExistsError,
)
from jobkeeper.domain.lifecycle import Status
from jobkeeper.settings import Settings
from jobkeeper.stores.postgres import setup_lock
from tests.fakes import RecordingDispatcher


def open_app(data: Path, database_url: str) -> JobKeeper:
    env = Settings(data=data, database_url=database_url).store_env()
    with setup_lock(env):
        return JobKeeper(env, dispatcher=RecordingDispatcher())


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[JobKeeper]:
    app = open_app(tmp_path, database_url)
    app.create_user(name="alice", by="system")
    yield app
    app.close()


def submit(app: JobKeeper, owner: str = "alice") -> int:
    return app.submit(kind="sleep", params={"seconds": 1}, owner=owner, by=owner).job.number


def test_job_ids_are_sequential_from_one(app: JobKeeper) -> None:
    assert [submit(app) for _ in range(5)] == [1, 2, 3, 4, 5]


def test_a_new_application_continues_the_numbering(
    app: JobKeeper, tmp_path: Path, database_url: str
) -> None:
    for _ in range(37):
        submit(app)
    other = open_app(tmp_path, database_url)
    assert submit(other) == 38
    other.close()


def _submit_many(data: str, url: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    app = open_app(Path(data), url)
    out.put([submit(app) for _ in range(count)])


def test_job_ids_stay_unique_when_several_processes_submit_at_once(
    app: JobKeeper, tmp_path: Path, database_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    args = (str(tmp_path), database_url, 25, out)
    workers = [context.Process(target=_submit_many, args=args) for _ in range(3)]
    for worker in workers:
        worker.start()
    ids = [i for _ in workers for i in out.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(ids) == list(range(1, 76))


def test_job_ids_stay_unique_when_threads_submit_at_once(app: JobKeeper) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        for _ in range(20):
            number = submit(app)
            with lock:
                ids.append(number)

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(ids) == list(range(1, 101))


def test_submit_needs_an_existing_owner(app: JobKeeper) -> None:
    with pytest.raises(InvalidJobError, match="owner 'nobody' is not a user"):
        submit(app, owner="nobody")


def test_users_are_unique_by_name_and_numbered(app: JobKeeper) -> None:
    assert app.create_user(name="bob", by="system").number == 2
    with pytest.raises(UserExistsError):
        app.create_user(name="bob", by="system")
    assert app.create_user(name="carol", by="system").number == 3
    assert app.get_user_by_number(2).name == "bob"


def test_racing_user_creations_make_one_user(app: JobKeeper) -> None:
    results: list[str] = []

    def create() -> None:
        try:
            app.create_user(name="dave", by="system")
            results.append("created")
        except UserExistsError:
            results.append("exists")

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert Counter(results) == {"created": 1, "exists": 7}


@pytest.mark.parametrize("name", ["", "system", "has space", "-dash", "x" * 65, "naïve"])
def test_bad_user_names_are_refused(app: JobKeeper, name: str) -> None:
    with pytest.raises(InvalidUserError):
        app.create_user(name=name, by="system")


def test_unknown_jobs_are_not_found(app: JobKeeper) -> None:
    with pytest.raises(JobNotFoundError):
        app.get_job(99)
    with pytest.raises(JobNotFoundError):
        app.stop(99, "alice")
    with pytest.raises(JobNotFoundError):
        app.history(99)


def test_a_command_in_effect_records_nothing(app: JobKeeper) -> None:
    job_id = submit(app)
    assert app.stop(job_id, "alice").changed
    again = app.stop(job_id, "alice")
    assert not again.changed and again.position is None
    assert len(app.history(job_id)) == 2


def test_time_travel_shows_the_job_as_it_was(app: JobKeeper) -> None:
    job_id = submit(app)
    app.stop(job_id, "alice")
    app.create_user(name="bob", role="admin", by="system")
    app.resume(job_id, "bob")
    assert app.get_job(job_id, version=1).status is Status.QUEUED
    assert app.get_job(job_id, version=2).status is Status.STOPPED
    history = app.history(job_id)
    assert [(h.type, h.by) for h in history] == [
        ("Submitted", "alice"), ("Stopped", "alice"), ("Resumed", "bob"),
    ]  # fmt: skip
    assert history[1].at < history[2].at


def test_concurrent_commands_lose_no_update(app: JobKeeper) -> None:
    """Many threads stop, resume, cancel and restart the same jobs: one event per accepted command."""
    jobs = [submit(app) for _ in range(5)]
    accepted: Counter[int] = Counter()
    lock = threading.Lock()

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            job_id = rng.choice(jobs)
            command = rng.choice(["stop", "resume", "cancel", "restart"])
            try:
                outcome = getattr(app, command)(job_id, "alice")
            except TransitionError:
                continue
            if outcome.changed:
                with lock:
                    accepted[job_id] += 1

    threads = [threading.Thread(target=hammer, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for job_id in jobs:
        history = app.history(job_id)
        assert len(history) == 1 + accepted[job_id]
        assert [h.version for h in history] == list(range(1, len(history) + 1))
        assert app.get_job(job_id).status in {
            Status.QUEUED, Status.STOPPED, Status.CANCELLED,
        }  # fmt: skip


def test_a_command_on_a_copy_that_is_not_saved_leaves_the_job_as_it_was(app: JobKeeper) -> None:
    job_id = submit(app)
    copy = app.get_job(job_id)
    copy.stop("alice", app.clock.now())
    assert copy.status is Status.STOPPED and len(copy.pending_events) == 1
    again = app.get_job(job_id)
    assert again.status is Status.QUEUED and again.version == 1 and again.pending_events == []
    assert again.params == {"seconds": 1}


def test_a_run_reporting_from_memory_sees_what_another_process_recorded(
    app: JobKeeper, tmp_path: Path, database_url: str
) -> None:
    job_id = submit(app)
    app.start(job_id, "run-1", "worker-a")
    assert app.report(job_id, "run-1", 0.1, {"at": 1}, ()).job.status is Status.RUNNING
    other = open_app(tmp_path, database_url)  # another process on the same store
    other.stop(job_id, by="alice")
    reported = app.report(job_id, "run-1", 0.2, {"at": 2}, ())
    assert reported.job.status is Status.STOPPING and reported.job.progress == 0.2
    other.complete_stop(job_id, "run-1", 0.2, {"at": 2}, ())
    other.resume(job_id, by="alice")
    other.start(job_id, "run-2", "worker-b")
    with pytest.raises(StaleRunError):
        app.report(job_id, "run-1", 0.3, {"at": 3}, ())
    assert [type(e).__name__ for e in app.events.get(f"job-{job_id}")] == [
        "Submitted", "Started", "Progressed", "StopRequested", "Progressed", "Stopped",
        "Resumed", "Started",
    ]  # fmt: skip
    other.close()


def test_a_run_reports_without_reading_the_store_when_nothing_else_happened(
    app: JobKeeper, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = submit(app)
    app.start(job_id, "run-1", "worker-a")

    def no_reads(*args: object, **kwargs: object) -> None:
        raise AssertionError("the job was read from the store")

    monkeypatch.setattr(app, "get_job", no_reads)
    for step in range(1, 4):
        assert app.report(job_id, "run-1", step / 10, {"at": step}, ()).job.version == 2 + step


def test_every_command_that_queues_a_job_dispatches_it_through_the_port(
    tmp_path: Path, database_url: str
) -> None:
    env = Settings(data=tmp_path, database_url=database_url).store_env()
    dispatcher = RecordingDispatcher()
    with setup_lock(env):
        app = JobKeeper(env, dispatcher=dispatcher)
    app.create_user(name="alice", by="system")
    job_id = submit(app)
    assert dispatcher.sent == [(job_id, 0.0)]
    app.stop(job_id, "alice")
    app.resume(job_id, "alice")
    app.resume(job_id, "alice")  # already in effect: nothing recorded, nothing sent
    app.cancel(job_id, "alice")
    app.restart(job_id, "alice")
    assert dispatcher.job_ids == [job_id, job_id, job_id]
    later = app.submit(
        kind="sleep", params={"seconds": 1}, owner="alice", by="alice",
        not_before=app.clock.now() + timedelta(hours=1),
    ).job.number  # fmt: skip
    assert dispatcher.sent[-1][0] == later and 3590 < dispatcher.sent[-1][1] <= 3600
    app.close()


class DownDispatcher:
    """A broker that is down: it takes nothing."""

    def dispatch(self, job_id: int, delay: float = 0.0) -> None:
        raise DispatchError(f"the broker did not take job {job_id}: connection refused")


def test_a_broker_that_is_down_leaves_a_recorded_command_queued(
    app: JobKeeper, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = submit(app)
    app.stop(job_id, "alice")
    app.dispatcher = DownDispatcher()
    with caplog.at_level("WARNING", logger="jobkeeper.application.app"):
        outcome = app.resume(job_id, "alice")
        resubmitted = submit(app)
    assert outcome.changed and outcome.job.status is Status.QUEUED
    assert app.get_job(job_id).status is Status.QUEUED  # recorded: a sweep sends it later
    assert app.get_job(resubmitted).status is Status.QUEUED
    assert "stays queued" in caplog.text
