"""Idempotency keys: a retry gets the first answer, never a second job or command."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobkeeper.application.app import JobKeeper
from jobkeeper.application.idempotency import Keyed, fingerprint
from jobkeeper.domain.errors import (
    KeyInFlightError,
    KeyReusedError,
    ReplayedError,
    TransitionError,
)
from jobkeeper.domain.idempotency import KEPT_FOR
from jobkeeper.domain.lifecycle import Status
from jobkeeper.settings import Settings
from jobkeeper.stores.postgres import setup_lock
from tests.fakes import RecordingDispatcher, SetClock

SLEEP = {"kind": "sleep", "params": {"seconds": 1}}


def open_app(data: Path, url: str, **options: Any) -> JobKeeper:
    env = Settings(data=data, database_url=url).store_env()
    with setup_lock(env):
        return JobKeeper(env, dispatcher=RecordingDispatcher(), **options)


def keyed(key: str = "k-1", user: str = "alice", request: str = "submit sleep 1") -> Keyed:
    return Keyed(user, key, fingerprint(request))


def submit(app: JobKeeper, key: Keyed | None, owner: str = "alice", **job: Any) -> Any:
    return app.submit(**(job or SLEEP), owner=owner, by=owner, keyed=key)


@pytest.fixture
def clock() -> SetClock:
    return SetClock()


@pytest.fixture
def app(tmp_path: Path, database_url: str, clock: SetClock) -> Iterator[JobKeeper]:
    app = open_app(tmp_path, database_url, clock=clock)
    for name in ("alice", "bob"):
        app.create_user(name=name, by="system")
    yield app
    app.close()


def test_a_retry_gets_the_same_job_and_records_nothing(app: JobKeeper) -> None:
    first = submit(app, keyed())
    position = app.position()
    again = submit(app, keyed())
    assert (first.replayed, again.replayed) == (False, True)
    assert again.job.number == first.job.number and again.job.version == first.job.version
    assert app.position() == position
    assert submit(app, None).job.number == first.job.number + 1
    assert app.dispatcher.job_ids == [first.job.number, first.job.number + 1]  # type: ignore[attr-defined]


def test_the_same_key_with_another_request_is_refused(app: JobKeeper) -> None:
    submit(app, keyed())
    with pytest.raises(KeyReusedError, match="different request"):
        submit(app, keyed(request="submit sleep 2"), kind="sleep", params={"seconds": 2})


def test_keys_belong_to_their_user(app: JobKeeper) -> None:
    mine = submit(app, keyed())
    theirs = submit(app, keyed(user="bob"), owner="bob")
    assert theirs.job.number != mine.job.number and not theirs.replayed


def test_a_key_is_used_again_once_it_has_expired(app: JobKeeper, clock: SetClock) -> None:
    first = submit(app, keyed())
    clock.advance(KEPT_FOR.total_seconds() - 1)
    assert submit(app, keyed()).replayed
    clock.advance(1)
    later = submit(app, keyed(request="another request"))
    assert later.job.number != first.job.number and not later.replayed


def test_a_command_retry_answers_the_job_as_the_first_left_it(app: JobKeeper) -> None:
    job_id = submit(app, None).job.number
    stop = keyed("stop-1", request=f"stop {job_id}")
    stopped = app.command("stop", job_id, "alice", stop)
    app.command("resume", job_id, "alice")
    retry = app.command("stop", job_id, "alice", stop)
    assert retry.replayed and not retry.changed
    assert retry.job.status is Status.STOPPED and retry.job.version == stopped.job.version
    assert app.get_job(job_id).status is Status.QUEUED  # the retry recorded nothing


def test_a_command_that_changed_nothing_still_keeps_its_answer(app: JobKeeper) -> None:
    job_id = submit(app, None).job.number
    app.command("stop", job_id, "alice")
    key = keyed("stop-again", request=f"stop {job_id}")
    assert not app.command("stop", job_id, "alice", key).changed
    app.command("resume", job_id, "alice")
    retry = app.command("stop", job_id, "alice", key)
    assert retry.replayed and retry.job.status is Status.STOPPED


def test_an_error_is_given_again_to_a_retry(app: JobKeeper) -> None:
    job_id = submit(app, None).job.number
    app.command("cancel", job_id, "alice")
    key = keyed("stop-1", request=f"stop {job_id}")
    with pytest.raises(TransitionError):
        app.command("stop", job_id, "alice", key)
    app.command("restart", job_id, "alice")  # now a stop would be allowed
    with pytest.raises(ReplayedError, match="cannot stop a job that is cancelled") as error:
        app.command("stop", job_id, "alice", key)
    assert error.value.error == "TransitionError"
    assert app.get_job(job_id).status is Status.QUEUED


def test_a_request_while_the_first_is_answered_gets_409(
    tmp_path: Path, database_url: str
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_validation(kind: str, params: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(10)
        return params

    app = open_app(tmp_path, database_url, validate_params=slow_validation)
    app.create_user(name="alice", by="system")
    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(submit(app, keyed())))
    first.start()
    try:
        assert entered.wait(10)
        with pytest.raises(KeyInFlightError, match="still being answered"):
            submit(app, keyed())
    finally:
        release.set()
        first.join(10)
    assert submit(app, keyed()).job.number == answers[0].job.number
    app.close()


def _submit_with_key(data: str, url: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    app = open_app(Path(data), url)
    out.put([submit(app, keyed("shared")).job.number for _ in range(5)])


def test_processes_given_the_same_key_at_once_make_one_job(
    app: JobKeeper, tmp_path: Path, database_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [
        context.Process(target=_submit_with_key, args=(str(tmp_path), database_url, out))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    numbers = {n for _ in workers for n in out.get(timeout=60)}
    for worker in workers:
        worker.join(timeout=60)
    assert len(numbers) == 1
    assert submit(app, None).job.number == numbers.pop() + 1
