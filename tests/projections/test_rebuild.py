"""The views' fast path against the domain: events read with orjson, rows remembered between
batches. Random histories of every job event, kept live in small batches (splitting each job's
story), with failed batches and a tiny memo, must give the views a rebuild gives, the rows the
aggregates in the repository hold, and events equal to what the library's mapper builds."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobkeeper.application.app import JobKeeper
from jobkeeper.bootstrap import open_app
from jobkeeper.domain.errors import StaleRunError, TransitionError
from jobkeeper.domain.job import SYSTEM, Job
from jobkeeper.domain.lifecycle import phase
from jobkeeper.projections import jobs, logs
from jobkeeper.projections.events import ViewEventReader, from_domain_event
from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
from jobkeeper.projections.store import Database, ViewStore, open_view_store
from tests.conftest import fast_settings, postgres_schema
from tests.projections.test_views import dump

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
T0 = datetime(2030, 1, 1, tzinfo=UTC)

# Values the library can record: JSON, and the types it wraps (a time, a UUID) anywhere inside.
# Dicts may have a "_type_" key, but never just "_type_" and "_data_": the library's own decoder
# would take those for a wrapped value and fail to load the aggregate.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
    | st.datetimes(timezones=st.just(UTC)) | st.uuids(),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "_type_", "é"]), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
texts = st.text(max_size=12) | st.sampled_from(['"_type_":', '{"_type_": "datetime_iso"}'])
log_lines = st.lists(
    st.builds(lambda at, text: {"at": at, "text": text}, st.just(T0.isoformat()), texts),
    max_size=3,
).map(tuple)
ACTIONS = [
    "submit", "start", "report", "stop", "complete_stop", "resume", "cancel", "complete_cancel",
    "succeed", "fail", "fail_unstarted", "restart", "requeue",
]  # fmt: skip
steps = st.lists(
    st.tuples(
        st.sampled_from(ACTIONS), st.integers(0, 5), json_values, log_lines,
        st.floats(0, 1), st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@contextmanager
def fresh_app(backend: str) -> Iterator[tuple[JobKeeper, dict[str, str]]]:
    """An empty event store and the settings of its view store, on `backend`."""
    with tempfile.TemporaryDirectory() as folder, _url(backend) as url:
        config = fast_settings(Path(folder) / "data", database_url=url)
        app = open_app(config)
        try:
            yield app, config.views_env()
        finally:
            app.close()


@contextmanager
def _url(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        yield ""
    else:
        with postgres_schema() as url:
            yield url


def act(app: JobKeeper, held: list[Job], step: tuple[Any, ...]) -> Job | None:
    """Drive one job through one domain command; None when the domain refuses it."""
    action, pick, value, lines, progress, with_times = step
    if action == "submit" or not held:
        number = len(held) + 1
        later = T0 + timedelta(days=number) if with_times else None
        job = Job.submit(
            number=number, owner="bob", kind="sleep", name=f"job {number}",
            params={"p": value}, not_before=later, deadline=later, by="bob", at=T0,
        )  # fmt: skip
        held.append(job)
        return job
    job = held[pick % len(held)]
    run = job.run_id or "none"
    commands = {
        "start": lambda: job.start(f"run-{job.version}", "worker-1", datetime.now(UTC)),
        "report": lambda: job.report(run, progress, value, lines, datetime.now(UTC)),
        "stop": lambda: job.stop("bob", datetime.now(UTC)),
        "complete_stop": lambda: job.complete_stop(run, progress, value, lines, datetime.now(UTC)),
        "resume": lambda: job.resume("bob", datetime.now(UTC)),
        "cancel": lambda: job.cancel("bob", datetime.now(UTC)),
        "complete_cancel": lambda: job.complete_cancel(run, lines, datetime.now(UTC)),
        "succeed": lambda: job.succeed(run, value, lines, datetime.now(UTC)),
        "fail": lambda: job.fail(run, f"error {value!r}", lines, datetime.now(UTC)),
        "fail_unstarted": lambda: job.fail(None, "never ran", lines, datetime.now(UTC)),
        "restart": lambda: job.restart("bob", datetime.now(UTC)),
        "requeue": lambda: job.requeue(run, "worker left", datetime.now(UTC)),
    }
    try:
        commands[action]()
    except (TransitionError, StaleRunError):
        return None
    return job


class FailingOnce:
    """A view that fails the `at`-th batch, after the real ones changed their memos."""

    tables: tuple[str, ...] = ()

    def __init__(self, at: int) -> None:
        self.calls, self.at = 0, at

    def create_statements(self, t: dict[str, str]) -> list[str]:
        return []

    def apply(self, db: Database, events: Any) -> None:
        self.calls += 1
        if self.calls == self.at:
            raise RuntimeError("this batch fails")


def expected_row(job: Job) -> dict[str, Any]:
    """The jobs view's row of an aggregate, decoded (`jobs.decode`): JSON values as JSON has them."""

    def as_json(value: Any) -> Any:
        return orjson.loads(orjson.dumps(value))

    return {
        "id": job.number, "owner": job.owner, "kind": job.kind, "name": job.name,
        "params": as_json(job.params), "status": job.status.value, "phase": phase(job.status),
        "progress": job.progress, "attempt": job.attempt, "checkpoint": as_json(job.checkpoint),
        "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at, "result": as_json(job.result), "error": job.error,
        "not_before": job.not_before, "deadline": job.deadline, "log_count": job.log_count,
        "version": job.version, "updated_at": job.modified_on, "worker": job.worker,
    }  # fmt: skip


def assert_views_match_the_aggregates(app: JobKeeper, store: ViewStore, count: int) -> None:
    with store.reading() as db:
        rows = {row["id"]: jobs.decode(row) for row in db.all("SELECT * FROM {jobs}")}
        assert sorted(rows) == list(range(1, count + 1))
        for number, row in rows.items():
            job = app.repository.get(f"job-{number}")
            assert row == expected_row(job)
            recorded = [
                (line["at"], line["text"])
                for event in app.events.get(f"job-{number}")
                for line in getattr(event, "lines", ())
            ]
            shown = logs.find(db, job_id=number, limit=10**6)
            assert [(r["line"], r["at"], r["text"]) for r in shown] == [
                (place, at, text) for place, (at, text) in enumerate(recorded, start=1)
            ]
            assert job.log_count == len(recorded)
        user = db.one("SELECT * FROM {users} WHERE name = 'bob'")
        assert user is not None
        assert user["created_at"] == app.get_user("bob").created_at.isoformat()


def check_history(
    backend: str, history: list[tuple[Any, ...]], batch_size: int, memo_size: int, fail_at: int
) -> None:
    with fresh_app(backend) as (app, views_env):
        app.create_user(name="admin", role="admin", by=SYSTEM)
        app.create_user(name="bob", by="admin")
        store = open_view_store(views_env, VIEWS)
        store.memo_size = memo_size
        failing = FailingOnce(fail_at)
        store.views = (*VIEWS, failing)  # type: ignore[assignment]
        runner = Projector(app, ViewProjection(store), batch_size=batch_size)
        held: list[Job] = []
        for step in history:
            job = act(app, held, step)
            if job is not None:
                app.save(job)
            try:
                runner.catch_up()
            except RuntimeError:
                runner.catch_up()  # the failed batch again, with the memos emptied
        assert runner.position == app.recorder.max_notification_id()
        assert_views_match_the_aggregates(app, store, len(held))

        reader = ViewEventReader(app.mapper)
        for notification in app.recorder.select_notifications(start=1, limit=10**6):
            fast = reader.read(notification)
            mapped = from_domain_event(app.mapper.to_domain_event(notification))
            assert type(fast) is type(mapped) and fast.__dict__ == mapped.__dict__

        live = dump(store)
        store.views = VIEWS
        assert Projector(app, ViewProjection(store), batch_size=1000).rebuild() > 0
        assert dump(store) == live
        store.datastore.close()


@pytest.mark.parametrize("backend", BACKENDS)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    history=steps,
    batch_size=st.integers(1, 5),
    memo_size=st.sampled_from([1, 2, 10_000]),
    fail_at=st.integers(1, 30),
)
def test_views_kept_live_in_batches_equal_the_aggregates_and_a_rebuild(
    backend: str, history: list[tuple[Any, ...]], batch_size: int, memo_size: int, fail_at: int
) -> None:
    check_history(backend, history, batch_size, memo_size, fail_at)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_projector_that_fell_behind_rereads_the_rows_it_remembers(backend: str) -> None:
    """Two projectors on one view store (scaled mode): rows the other moved on are read again."""
    with fresh_app(backend) as (app, views_env):
        app.create_user(name="admin", role="admin", by=SYSTEM)
        app.create_user(name="bob", by="admin")
        held: list[Job] = []
        for step in [("submit", 0, 1, (), 0.0, True)] * 3:
            act(app, held, step)
        app.save(*held)
        ahead = open_view_store(views_env, VIEWS)
        behind = open_view_store(views_env, VIEWS)
        behind_runner = Projector(app, ViewProjection(behind), batch_size=1000)
        behind_runner.catch_up()  # remembers every job at version 1
        line = ({"at": T0.isoformat(), "text": "x"},)
        for action in ["start", "report", "report", "succeed"]:
            for number in range(3):
                act(app, held, (action, number, {"n": number}, line, 0.5, False))
            app.save(*held)
        Projector(app, ViewProjection(ahead), batch_size=1000).catch_up()  # every job succeeded
        behind_runner._reload_position()  # as its loop does when a batch fails
        for action in ["restart", "start", "report"]:
            for number in range(3):
                act(app, held, (action, number, [number], line, 0.25, False))
            app.save(*held)
        behind_runner.catch_up()  # its memo is stale: it must read the rows again
        assert_views_match_the_aggregates(app, behind, 3)
        ahead.datastore.close()
        behind.datastore.close()
