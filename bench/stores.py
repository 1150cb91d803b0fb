"""Stores with history: N jobs of real events written through the engine, cached between runs.

The bulk path opens the store with `jobkeeper.bootstrap.open_app`, drives Job aggregates
through their own commands (submit, start, report, succeed / fail / stop / cancel) and saves
thousands of jobs per transaction with `app.save(*jobs)`, their stories overlapping as in a
live service; then the views catch up with the service's own Projector, as a first start
would. A finished store is kept under
`<cache>/store-<N>-v<LAYOUT>/` and copied for each service run, so runs never change it.

    python bench/stores.py --jobs 1000000          # build (or reuse) one store
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

LAYOUT = 2
"""Bump when the build changes, so stale cached stores are rebuilt."""
USERS = 100
COMMAND_JOBS = 1000
"""Stopped jobs, due far in the future, that the command benchmark resumes and stops."""
QUEUED_JOBS = 100
"""Queued jobs due far in the future: the running view's content (no worker takes them)."""
PER_SAVE = 1000
FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
WORKER = "bench-builder:0:00000000"
FILES = ("events.db", "views.db")


@dataclass(frozen=True)
class Store:
    """A built store: where it is and what is in it."""

    path: Path
    jobs: int
    events: int
    users: list[str]
    command_ids: list[int]
    queued_ids: list[int]
    build_seconds: float
    views_seconds: float

    @property
    def name(self) -> str:
        return f"{self.jobs:,} jobs"

    def copy_to(self, data: Path) -> Path:
        """A fresh data folder holding a copy of this store (the cache stays untouched)."""
        data.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copyfile(self.path / name, data / name)
        return data


def default_cache() -> Path:
    return Path(tempfile.gettempdir()) / "jobkeeper-bench"


def ensure_store(jobs: int, cache: Path, log: Any = print) -> Store:
    """The cached store of `jobs` jobs, built first if missing."""
    folder = cache / f"store-{jobs}-v{LAYOUT}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        return _load(folder)
    cache.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"building-{jobs}-", dir=cache))
    try:
        log(f"building a store of {jobs:,} jobs in {building} (cached for later runs)")
        _build(building, jobs, log)
        if folder.exists():
            shutil.rmtree(folder)
        building.rename(folder)
    finally:
        if building.exists():
            shutil.rmtree(building)
    return _load(folder)


def _load(folder: Path) -> Store:
    data = json.loads((folder / "manifest.json").read_text())
    return Store(path=folder, **data)


def layout(jobs: int) -> dict[int, str]:
    """Which job numbers are not plain history: the command set and the queued set."""
    special: dict[int, str] = {}
    commands = min(COMMAND_JOBS, max(1, jobs // 10))
    queued = min(QUEUED_JOBS, max(1, jobs // 100))
    for i in range(commands):  # spread over the whole history
        special[1 + (i * jobs) // commands] = "command"
    for i in range(queued):
        number = 2 + (i * jobs) // queued
        while number in special:
            number += 1
        special[number] = "queued"
    return special


def _build(folder: Path, jobs: int, log: Any) -> None:
    from jobkeeper.bootstrap import open_app
    from jobkeeper.settings import Settings

    settings = Settings.from_env({}, data=folder)
    app = open_app(settings)
    started = time.perf_counter()
    users = [f"user{i:03d}" for i in range(USERS)]
    for name in users:
        app.create_user(name=name, surname="Bench", title="tester", by="system")
    special = layout(jobs)
    rng = random.Random(jobs)
    last_report = time.monotonic()
    # Jobs overlap as they do in a live service: each save submits a thousand new jobs, starts
    # the previous thousand and ends the thousand before, so one job's events lie thousands
    # of notifications apart and a view batch meets most jobs partway through their story.
    in_flight: list[tuple[Any, list[Callable[[Any], None]]]] = []
    for first in range(1, jobs + 2 * PER_SAVE + 1, PER_SAVE):
        batch = []
        for job, stages in in_flight:
            stages.pop(0)(job)
            batch.append(job)
        in_flight = [(job, stages) for job, stages in in_flight if stages]
        for number in range(first, min(first + PER_SAVE, jobs + 1)):
            job, stages = _job(number, users[rng.randrange(USERS)], special.get(number), rng)
            batch.append(job)
            if stages:
                in_flight.append((job, stages))
        if batch:
            app.save(*batch)
        if time.monotonic() - last_report > 10:
            last_report = time.monotonic()
            done = min(first + PER_SAVE - 1, jobs)
            log(f"  {done:,} jobs submitted ({time.perf_counter() - started:.0f} s)")
    assert not in_flight
    build_seconds = time.perf_counter() - started
    events = app.position()
    app.close()
    log(f"  {jobs:,} jobs: {events:,} events in {build_seconds:.0f} s; catching up the views")
    views_seconds = _catch_up_views(settings)
    log(f"  views caught up in {views_seconds:.0f} s ({events / views_seconds:,.0f} events/s)")
    for name in FILES:
        _checkpoint(folder / name)
    manifest = {
        "jobs": jobs,
        "events": events,
        "users": users,
        "command_ids": sorted(n for n, role in special.items() if role == "command"),
        "queued_ids": sorted(n for n, role in special.items() if role == "queued"),
        "build_seconds": round(build_seconds, 1),
        "views_seconds": round(views_seconds, 1),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _now() -> datetime:
    return datetime.now(UTC)


def _job(
    number: int, owner: str, role: str | None, rng: random.Random
) -> tuple[Any, list[Callable[[Any], None]]]:
    """A submitted job, and the later chapters of its story (each recorded in a later save),
    told through the aggregate's own commands."""
    from jobkeeper.domain.job import Job

    seconds = float(rng.choice((5, 30, 60, 600, 3600)))
    params = {"seconds": seconds, "step": 1.0}
    not_before = FAR_FUTURE if role in ("command", "queued") else None
    job = Job.submit(
        number=number, owner=owner, kind="sleep", name=f"nightly-{number % 97}",
        params=params, not_before=not_before, deadline=None, by=owner, at=_now(),
    )  # fmt: skip
    if role == "queued":
        return job, []
    if role == "command":
        return job, [lambda j: j.stop(owner, _now())]  # queued → stopped; the benchmark resumes it
    run_id = uuid.UUID(int=rng.getrandbits(128)).hex
    fate = rng.random()

    def run(j: Any) -> None:
        at = datetime.now(UTC).isoformat()
        j.start(run_id, WORKER, _now())
        lines = tuple(_line(at, f"step {i}: slept {i * seconds / 6:g} s") for i in (1, 2, 3))
        j.report(run_id, 0.5, seconds / 2, lines, _now())

    def end(j: Any) -> None:
        at = datetime.now(UTC).isoformat()
        if fate < 0.90:
            j.succeed(run_id, {"slept": seconds}, (_line(at, f"slept {seconds:g} seconds"),), _now())
        elif fate < 0.94:
            lines = (_line(at, "Traceback (most recent call last):"), _line(at, "OSError: disk full"))
            j.fail(run_id, "disk full", lines, _now())
        elif fate < 0.96:
            j.cancel(owner, _now())
            j.complete_cancel(run_id, (), _now())
        else:
            j.stop(owner, _now())
            j.complete_stop(run_id, 0.5, seconds / 2, (), _now())

    return job, [run, end]


def _line(at: str, text: str) -> dict[str, str]:
    return {"at": at, "text": text}


def _catch_up_views(settings: Any) -> float:
    """Catch the views up with the service's own runner, as its first start would."""
    from jobkeeper.actors import liveness
    from jobkeeper.bootstrap import open_app
    from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
    from jobkeeper.projections.store import SideTable, open_view_store

    app = open_app(settings)
    store = open_view_store(
        settings.views_env(), VIEWS, side_tables=(cast(SideTable, liveness),)
    )
    started = time.perf_counter()
    Projector(app, ViewProjection(store)).catch_up()
    seconds = time.perf_counter() - started
    store.datastore.close()
    app.close()
    return seconds


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the database file, so a plain copy of the file is the whole store."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--cache", type=Path, default=default_cache())
    args = parser.parse_args()
    store = ensure_store(args.jobs, args.cache)
    print(f"{store.path}: {store.jobs:,} jobs, {store.events:,} events")


if __name__ == "__main__":
    main()
