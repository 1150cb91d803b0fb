"""The liveness sweep: it hands back the jobs of silent workers and sends again the queued
jobs that waited longest, reading only the rows it acts on (on SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from jobkeeper.actors import liveness
from jobkeeper.actors.liveness import Liveness
from jobkeeper.application.app import JobKeeper
from jobkeeper.domain.lifecycle import Status
from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
from jobkeeper.projections.store import SideTable, ViewStore, open_view_store
from jobkeeper.projections.views import Views
from jobkeeper.settings import Settings
from jobkeeper.stores.postgres import setup_lock
from tests.fakes import RecordingDispatcher, SetClock

TIMEOUT = 30.0
START = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class World:
    app: JobKeeper
    store: ViewStore
    views: Views
    projector: Projector
    clock: SetClock
    sent: RecordingDispatcher

    def liveness(self, worker_id: str = "sweeper") -> Liveness:
        return Liveness(
            self.app, self.store, self.views, worker_id=worker_id, timeout=TIMEOUT,
            dispatcher=self.sent, clock=lambda: self.clock.wall.timestamp(),
        )  # fmt: skip

    def submit(self, **extra: object) -> int:
        job = self.app.submit(kind="sleep", params={}, owner="admin", by="admin", **extra).job
        return int(job.number)

    def beat(self, worker: str, seconds_ago: float) -> None:
        with self.store.writing() as db:
            db.execute(
                "INSERT INTO {workers} (worker_id, seen_at) VALUES (?, ?)",
                (worker, self.clock.wall.timestamp() - seconds_ago),
            )


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    settings = Settings(data=tmp_path, database_url=database_url)
    clock, sent = SetClock(START), RecordingDispatcher()
    with setup_lock(settings.store_env()):
        app = JobKeeper(settings.store_env(), dispatcher=sent, clock=clock)
        store = open_view_store(
            settings.views_env(), VIEWS, side_tables=(cast(SideTable, liveness),)
        )
    app.ensure_admin()
    projector = Projector(app, ViewProjection(store))
    yield World(app, store, Views(store, app.name), projector, clock, sent)
    store.datastore.close()
    app.close()


def test_queued_jobs_are_sent_again_longest_waiting_first(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(liveness, "RESEND_LIMIT", 3)
    later = world.submit(not_before=START + timedelta(seconds=100))  # due after the others
    ids = []
    for _ in range(5):
        ids.append(world.submit())
        world.clock.advance(5)
    recent = world.submit()  # has waited only a moment
    world.clock.advance(TIMEOUT - 1)
    world.projector.catch_up()
    world.sent.sent.clear()
    world.liveness().sweep()
    assert world.sent.job_ids == ids[:3]  # the oldest first, three at most
    world.clock.advance(100)
    world.sent.sent.clear()
    monkeypatch.setattr(liveness, "RESEND_LIMIT", 100)
    world.liveness().sweep()
    assert world.sent.job_ids == [*ids, recent, later]  # `later` has been due since START+100


def test_a_silent_workers_jobs_are_handed_back_and_a_live_workers_kept(world: World) -> None:
    lost, alive, orphan = world.submit(), world.submit(), world.submit()
    world.app.start(lost, "run-1", "worker-lost")
    world.app.start(alive, "run-2", "worker-alive")
    world.app.start(orphan, "run-3", "worker-without-row")
    world.beat("worker-lost", TIMEOUT + 1)
    world.beat("worker-alive", 1)
    world.projector.catch_up()
    sweeper = world.liveness()
    assert sorted(sweeper.sweep()) == [lost, orphan]
    assert world.app.get_job(lost).status is Status.QUEUED
    assert world.app.get_job(orphan).status is Status.QUEUED
    assert world.app.get_job(alive).status is Status.RUNNING
    world.projector.catch_up()
    assert sweeper.sweep() == []  # nothing is handed back twice


def test_long_gone_workers_are_forgotten_only_once_they_run_nothing(world: World) -> None:
    job = world.submit()
    world.app.start(job, "run-1", "worker-gone")
    world.beat("worker-gone", 21 * TIMEOUT)
    world.beat("worker-idle", 21 * TIMEOUT)
    world.projector.catch_up()
    sweeper = world.liveness()
    with world.store.writing() as db:  # the sweep's own statement, before any hand-back
        db.execute(
            "DELETE FROM {workers} WHERE seen_at < ? AND NOT EXISTS "
            "(SELECT 1 FROM {jobs} WHERE {jobs}.worker = {workers}.worker_id)",
            (world.clock.wall.timestamp() - 20 * TIMEOUT,),
        )
    with world.store.reading() as db:
        left = {r["worker_id"] for r in db.all("SELECT worker_id FROM {workers}")}
    assert left == {"worker-gone"}
    assert sweeper.sweep() == [job]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("waiting", "view_jobs_waiting"),
        ("run_by", "view_jobs_worker"),
    ],
)
def test_the_sweeps_reads_use_their_indexes_on_sqlite(
    world: World, query: str, index: str
) -> None:
    if world.store.postgres:
        pytest.skip("SQLite's query plan; PostgreSQL plans by table statistics")
    from jobkeeper.projections import jobs

    seen: list[str] = []
    with world.store.reading() as db:
        plain = db.values

        def explained(statement: str, params: object = ()) -> list[tuple[object, ...]]:
            for row in plain(f"EXPLAIN QUERY PLAN {statement}", params):  # type: ignore[arg-type]
                seen.append(str(row[-1]))
            return []

        db.values = explained  # type: ignore[method-assign]
        if query == "waiting":
            jobs.longest_waiting(db, START.isoformat(), 10)
        else:
            jobs.run_by(db, "worker-1")
    assert any(index in line for line in seen), seen
    assert not any("SCAN" in line and "USING" not in line for line in seen), seen


class StoreThatIsDown:
    """A view store whose writes fail until `down` is cleared; counts the attempts."""

    def __init__(self) -> None:
        self.down, self.attempts, self.written = True, 0, 0

    @contextmanager
    def writing(self) -> Iterator[StoreThatIsDown]:
        self.attempts += 1
        if self.down:
            raise ConnectionError("the store is down")
        yield self

    def execute(self, sql: str, args: tuple[object, ...]) -> None:
        self.written += 1


def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_store_that_stays_down_is_logged_once_with_its_traceback_and_once_when_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = StoreThatIsDown()
    live = Liveness(
        cast(JobKeeper, None), cast(ViewStore, store), cast(Views, None), worker_id="w",
        timeout=0.06, dispatcher=RecordingDispatcher(),
    )  # fmt: skip
    live.sweep = list  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger=liveness.__name__)
    live._thread = threading.Thread(target=live._run, daemon=True)
    live._thread.start()
    until(lambda: store.attempts >= 20)
    store.down = False
    until(lambda: store.written >= 3)
    live.stop()
    records = [r for r in caplog.records if r.name == liveness.__name__]
    assert [r.exc_info is not None for r in records] == [True, False]
    assert "could not record this worker's heartbeat" in records[0].getMessage()
    assert "again" in records[1].getMessage()
