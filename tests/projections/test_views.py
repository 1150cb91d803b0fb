"""The views: what they show, that they follow the log quickly, and that a replay rebuilds them."""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path
from typing import Any

from jobkeeper.bootstrap import Runtime
from jobkeeper.domain.errors import TransitionError
from jobkeeper.domain.lifecycle import TERMINAL
from jobkeeper.projections import jobs, logs, users
from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
from jobkeeper.projections.store import ViewStore, open_view_store
from tests.conftest import wait_for_status, wait_until


def dump(store: ViewStore) -> dict[str, list[dict[str, Any]]]:
    """Every row of every view, in a stable order."""
    with store.reading() as db:
        return {
            "jobs": db.all("SELECT * FROM {jobs} ORDER BY id"),
            "logs": db.all("SELECT * FROM {logs} ORDER BY id"),
            "users": db.all("SELECT * FROM {users} ORDER BY id"),
        }


def replay_into_fresh_store(runtime: Runtime, path: Path) -> ViewStore:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    store = open_view_store(env, VIEWS)
    Projector(runtime.app, ViewProjection(store), batch_size=97).catch_up()
    return store


def mixed_workload(runtime: Runtime, count: int, seed: int = 7) -> list[int]:
    rng = random.Random(seed)
    runtime.app.create_user(name="bob", by="admin")
    ids = []
    for i in range(count):
        kind = rng.choice(["sleep", "primes", "fail"])
        params: dict[str, Any] = {
            "sleep": {"seconds": rng.choice([0.05, 0.2, 5]), "step": 0.05},
            "primes": {"limit": rng.choice([10_000, 100_000]), "chunk": 1000},
            "fail": {"after_steps": rng.randint(0, 3)},
        }[kind]
        owner = rng.choice(["admin", "bob"])
        ids.append(runtime.app.submit(kind=kind, params=params, owner=owner, by=owner).job.number)
        if i % 3 == 0:
            target = rng.choice(ids)
            command = rng.choice(["stop", "cancel", "resume", "restart"])
            with contextlib.suppress(TransitionError):
                runtime.app.command(command, target, "admin")
    return ids


def settle(runtime: Runtime, ids: list[int]) -> None:
    """Cancel what still runs or waits, and wait until every job has ended."""
    for job_id in ids:
        with contextlib.suppress(TransitionError):
            runtime.app.cancel(job_id, "admin")
    for job_id in ids:
        wait_until(lambda j=job_id: runtime.app.get_job(j).status in TERMINAL, timeout=60)
    assert runtime.views.wait(runtime.app.position(), timeout=10)


def test_views_equal_a_fresh_replay_after_a_mixed_workload(
    runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = runtime_factory(max_running=8)
    ids = mixed_workload(runtime, 220)
    settle(runtime, ids)
    live = dump(runtime.view_store)
    assert len(live["jobs"]) == 220 and len(live["users"]) == 2
    assert live["logs"], "the workload wrote log lines"
    if not runtime.settings.database_url:  # a second SQLite file to replay into
        rebuilt = replay_into_fresh_store(runtime, tmp_path / "rebuilt.db")
        assert dump(rebuilt) == live

    assert runtime.projector is not None
    assert runtime.projector.rebuild() > 0
    assert runtime.projector.position == runtime.app.position()
    assert dump(runtime.view_store) == live


def test_each_view_row_matches_the_job_rebuilt_at_that_version(runtime: Runtime) -> None:
    """What the views showed at any moment is the aggregate at the row's version."""
    job_id = runtime.app.submit(
        kind="primes", params={"limit": 300_000, "chunk": 1000, "delay": 0.003},
        owner="admin", by="admin",
    ).job.number  # fmt: skip
    seen: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = runtime.views.job(job_id)
        if row is not None:
            seen[row["version"]] = row
            if row["status"] == "succeeded":
                break
        time.sleep(0.01)
    assert len(seen) >= 3
    for version, row in seen.items():
        job = runtime.app.get_job(job_id, version=version)
        assert row["status"] == job.status.value
        assert row["progress"] == job.progress
        assert row["checkpoint"] == job.checkpoint
        assert row["attempt"] == job.attempt
        assert row["result"] == job.result
        assert row["started_at"] == job.started_at


def test_views_answer_lists_filters_and_last_ten(runtime: Runtime) -> None:
    runtime.app.create_user(name="bob", by="admin")
    ids = [
        runtime.app.submit(kind="sleep", params={"seconds": 60}, owner=o, by=o).job.number
        for o in ["bob"] * 12 + ["admin"] * 3
    ]
    wait_for_status(runtime, ids[0], "running")
    runtime.app.cancel(ids[0], "bob")
    wait_for_status(runtime, ids[0], "cancelled")
    assert runtime.views.wait(runtime.app.position(), timeout=5)
    with runtime.view_store.reading() as db:
        last_ten = jobs.find(db, owner="bob", limit=10)
        assert [r["id"] for r in last_ten] == list(reversed(ids[2:12]))
        finished = jobs.find(db, phase="finished")
        assert [r["id"] for r in finished] == [ids[0]]
        page = jobs.find(db, limit=4)
        next_page = jobs.find(db, limit=4, before=page[-1]["id"])
        assert [r["id"] for r in page + next_page] == list(reversed(ids))[:8]
        assert [u["name"] for u in users.find(db)] == ["admin", "bob"]
        lines = logs.find(db, job_id=ids[0])
        assert [(r["line"], r["text"]) for r in lines] == [(1, "sleeping 60 of 60 seconds")]
        assert logs.find(db, job_id=ids[0], after=lines[0]["id"]) == []
    for job_id in ids[1:]:
        runtime.app.cancel(job_id, "admin")


def test_a_long_catch_up_that_fails_keeps_what_it_applied_and_goes_on_after(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Reading ahead: a failure in the reading thread reaches the caller; the batches
    applied before it stay, and the next catch-up continues from there to the same views."""
    import gc

    ids = mixed_workload(runtime, 60)
    settle(runtime, ids)
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "v.db")}
    store = open_view_store(env, VIEWS)
    projector = Projector(runtime.app, ViewProjection(store), batch_size=20)
    read, calls = projector._reader.read, [0]
    # The first batch, then the long catch-up's larger ones: fail inside the third.
    applied = projector.batch_size + projector.bulk_batch_size
    assert runtime.app.position() > applied + 20, "too few events for three batches"

    def failing(notification: Any) -> Any:
        calls[0] += 1
        if calls[0] == applied + 20:
            raise RuntimeError("disk went away")
        return read(notification)

    projector._reader.read = failing  # type: ignore[method-assign]
    try:
        projector.catch_up()
    except RuntimeError as error:
        assert "disk went away" in str(error)
    else:
        raise AssertionError("the failure did not reach the caller")
    assert gc.isenabled()
    # Two whole batches (PostgreSQL's notification ids may skip a number).
    last = runtime.app.recorder.select_notifications(start=1, limit=applied)[-1].id
    assert projector.position == store.position(runtime.app.name) == last
    projector._reader.read = read  # type: ignore[method-assign]
    projector.catch_up()
    assert projector.position == runtime.app.position()
    assert dump(store) == dump(runtime.view_store)
