"""View rebuild speed against the raw speed of reading the notification log, in one process.

Raw: the library's `select_notifications` over the whole log, a page at a time, nothing else
(read with the Projector's batch size and with its long catch-up's, the faster of the two). Mapped: the same, plus turning each notification into
its domain event (what any projection must do at least). Rebuild: a fresh view store and the
service's own `Projector(...).catch_up()` from position 0 over the same log.

    python bench/rebuild.py --jobs 100000 --rounds 3

Each round copies the store afresh; the ratios are given by wall-clock time and by the
process's CPU time (steadier on a shared machine), per round and as medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from stores import Store, default_cache, ensure_store

TARGET = 0.25
"""The rebuild's speed against the raw read's, by wall-clock time (issue: jobs that run for weeks)."""


@dataclass(frozen=True)
class RebuildResult:
    events: int
    raw_per_second: float
    mapped_per_second: float
    rebuild_per_second: float
    raw_cpu_seconds: float
    rebuild_cpu_seconds: float

    @property
    def ratio(self) -> float:
        return self.rebuild_per_second / self.raw_per_second

    @property
    def cpu_ratio(self) -> float:
        return self.raw_cpu_seconds / self.rebuild_cpu_seconds


def measure(store: Store, work: Path) -> RebuildResult:
    """Raw read, mapped read and rebuild rates over a copy of `store`'s event log."""
    from jobkeeper.actors import liveness
    from jobkeeper.bootstrap import open_app
    from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
    from jobkeeper.projections.store import SideTable, open_view_store
    from jobkeeper.settings import Settings

    data = work / "rebuild-data"
    data.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(store.path / "events.db", data / "events.db")
    settings = Settings.from_env({}, data=data)
    app = open_app(settings)
    view_store = open_view_store(
        settings.views_env(), VIEWS, side_tables=(cast(SideTable, liveness),)
    )
    runner = Projector(app, ViewProjection(view_store))
    _read(app, runner.batch_size, map_events=False)  # warm the page cache; not measured
    raws = []  # pages as the runner's batches and as its long catch-up's: the faster counts
    for page in (runner.batch_size, runner.bulk_batch_size):
        cpu = time.process_time()
        events, seconds = _read(app, page, map_events=False)
        raws.append((seconds, time.process_time() - cpu, page))
    seconds, raw_cpu, page = min(raws)
    _, mapped_seconds = _read(app, page, map_events=True)
    cpu, started = time.process_time(), time.perf_counter()
    applied = runner.catch_up()
    rebuild_seconds = time.perf_counter() - started
    rebuild_cpu = time.process_time() - cpu
    view_store.datastore.close()
    app.close()
    shutil.rmtree(data)
    assert applied == events, (applied, events)
    return RebuildResult(
        events=events,
        raw_per_second=events / seconds,
        mapped_per_second=events / mapped_seconds,
        rebuild_per_second=events / rebuild_seconds,
        raw_cpu_seconds=raw_cpu,
        rebuild_cpu_seconds=rebuild_cpu,
    )


def _read(app: object, page: int, *, map_events: bool) -> tuple[int, float]:
    recorder = app.recorder  # type: ignore[attr-defined]
    mapper = app.mapper  # type: ignore[attr-defined]
    count, position = 0, 0
    started = time.perf_counter()
    while True:
        notifications = recorder.select_notifications(start=position + 1, limit=page)
        if not notifications:
            break
        if map_events:
            for notification in notifications:
                mapper.to_domain_event(notification)
        count += len(notifications)
        position = notifications[-1].id
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    store = ensure_store(args.jobs, args.cache)
    results = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="jobkeeper-rebuild-") as work:
            results.append(measure(store, Path(work)))
    for number, result in enumerate(results, 1):
        print(f"round {number}: {result.events:,} events")
        print(f"  raw select_notifications  {result.raw_per_second:12,.0f} events/s")
        print(f"  + mapping to events       {result.mapped_per_second:12,.0f} events/s")
        print(f"  Projector.catch_up       {result.rebuild_per_second:12,.0f} events/s")
        print(f"  rebuild / raw             {result.ratio:12.1%} wall, {result.cpu_ratio:.1%} CPU")
    wall = statistics.median(result.ratio for result in results)
    cpu = statistics.median(result.cpu_ratio for result in results)
    verdict = "pass" if wall >= TARGET else "MISS"
    print(f"median of {len(results)}: rebuild / raw {wall:.1%} wall, {cpu:.1%} CPU"
          f"  {verdict} (target >= {TARGET:.0%} wall)")  # fmt: skip

if __name__ == "__main__":
    main()
