"""Jobs that run for weeks: what a job of 1,000,000 events costs against one of 10.

Every figure is a ratio within one run (the machine is shared and noisy):

- `store`: a data folder with a job of N events (Submitted, Started, Progressed..., Succeeded,
  a log line every tenth event) and a job of 10, written through the engine: the aggregate's
  own commands, saved 100 events at a time through the application (so snapshots are taken
  as a running job's saves take them), then the views caught up by the service's Projector.
  Cached under `<cache>/long-<N>-v<LAYOUT>/`.
- `load`: in one process, a cold load of each job (cache evicted each time), and one full
  replay of the long job without snapshots, for scale.
- `http`: `jobkeeper serve` on a copy: the first GET /jobs/{id} of each job in a new process
  (three fresh processes), warm detail, the first history page (both orders), `?version=` in
  the middle, the stream resumed with Last-Event-ID near the end, and the NDJSON download
  with the worker's resident memory before and after it.
- `worker`: a runtime running jobs that report as fast as they can; resident memory
  against events recorded.
- `sweep`: the liveness sweep over views with 100,000 queued jobs against 10 (none due for
  a re-send, then 10 due), beside the previous sweep's two queries on the same views.
- `rebuild`: bench/rebuild.py's ratio on the 100,000-job store of bench/stores.py.
- `burst`: `jobkeeper serve` on the 100,000-job store: the worker's resident memory idle,
  after ordinary reads, and after bursts of 16 concurrent legacy pages of 10,000 jobs.

    python bench/long_jobs.py --events 1000000
    python bench/long_jobs.py --only http,sweep
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from harness import ADMIN_TOKEN, jobkeeper_serve, rss_mib
from stores import default_cache, ensure_store

LAYOUT = 1
PER_SAVE = 25
"""Events per save while building: the snapshot interval, so snapshots fall as a live job's do."""
SHORT_EVENTS = 10
PARTS = ("store", "load", "http", "worker", "sweep", "rebuild", "burst")


def _now() -> datetime:
    return datetime.now(UTC)


# The store.


def ensure_long_store(events: int, cache: Path) -> tuple[Path, dict[str, Any]]:
    """The cached folder with a job of `events` events and one of SHORT_EVENTS."""
    folder = cache / f"long-{events}-v{LAYOUT}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        return folder, json.loads(manifest.read_text())
    cache.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"building-long-{events}-", dir=cache))
    try:
        info = _build_long(building, events)
        manifest_path = building / "manifest.json"
        manifest_path.write_text(json.dumps(info, indent=1))
        if folder.exists():
            shutil.rmtree(folder)
        building.rename(folder)
    finally:
        if building.exists():
            shutil.rmtree(building)
    return folder, info


def _build_long(data: Path, events: int) -> dict[str, Any]:
    from jobkeeper.bootstrap import open_app
    from jobkeeper.settings import Settings

    settings = Settings.from_env({}, data=data)
    app = open_app(settings)
    app.ensure_admin(ADMIN_TOKEN)
    started = time.perf_counter()
    short = _job_of(app, SHORT_EVENTS)
    long = _job_of(app, events, report=True)
    build_seconds = time.perf_counter() - started
    print(f"  {events:,} events written in {build_seconds:.0f} s", flush=True)
    snapshots = len(list(app.snapshots.get(f"job-{long}"))) if app.snapshots else 0
    app.close()
    from stores import _catch_up_views, _checkpoint

    views_seconds = _catch_up_views(settings)
    print(f"  views caught up in {views_seconds:.0f} s", flush=True)
    for name in ("events.db", "views.db"):
        _checkpoint(data / name)
    return {
        "long": long, "short": short, "events": events, "snapshots": snapshots,
        "build_seconds": round(build_seconds, 1), "views_seconds": round(views_seconds, 1),
    }  # fmt: skip


def _job_of(app: Any, events: int, report: bool = False) -> int:
    """A succeeded job of exactly `events` events, saved PER_SAVE events at a time."""
    number = app.submit(kind="sleep", params={"seconds": 1e6}, owner="admin", by="admin").job.number
    app.start(number, "run-1", "bench-builder")
    job = app.get_job(number)
    last_report = time.monotonic()
    for version in range(3, events):
        lines = ({"at": _now().isoformat(), "text": f"step {version}"},) if version % 10 == 0 else ()
        job.report("run-1", version / events, {"done": version}, lines, _now())
        if version % PER_SAVE == 0:
            app.save(job)
        if report and time.monotonic() - last_report > 15:
            last_report = time.monotonic()
            print(f"  {version:,} events", flush=True)
    job.succeed("run-1", {"slept": 1e6}, (), _now())
    app.save(job)
    assert job.version == events, (job.version, events)
    return int(number)


# Small helpers.


def median_ms(action: Callable[[], object], times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def ratio_row(name: str, long_ms: float, short_ms: float, target: float, note: str = "") -> str:
    ratio = long_ms / short_ms
    verdict = "pass" if ratio <= target else "**miss**"
    return (
        f"| {name} | {long_ms:.2f} ms | {short_ms:.2f} ms | {ratio:.2f}× | ≤ {target:g}× | "
        f"{verdict} | {note} |"
    )


HEADER = "| figure | 1,000,000-event job | 10-event job | ratio | target | result | notes |\n"
HEADER += "| --- | ---: | ---: | ---: | --- | --- | --- |"


# load: in-process cold loads.


def part_load(folder: Path, info: dict[str, Any]) -> list[str]:
    from jobkeeper.bootstrap import open_app
    from jobkeeper.domain.job import job_aggregate_id
    from jobkeeper.settings import Settings

    settings = Settings.from_env({}, data=folder)
    app = open_app(settings)
    cache = app.repository.cache

    def cold(number: int) -> Callable[[], object]:
        def load() -> object:
            if cache is not None:
                with contextlib.suppress(KeyError):
                    cache.get(job_aggregate_id(number), evict=True)
            return app.get_job(number)

        return load

    long_ms = median_ms(cold(info["long"]), 50)
    short_ms = median_ms(cold(info["short"]), 50)
    worst = info["events"] - 1  # 24 events after the newest snapshot before it
    worst_ms = median_ms(lambda: app.get_job(info["long"], version=worst), 50)
    app.close()
    off = open_app(Settings.from_env({}, data=folder, snapshot_interval=0))
    started = time.perf_counter()
    off.get_job(info["long"])
    replay_s = time.perf_counter() - started
    off.close()
    note = f"{info['snapshots']:,} snapshots; without them one load replays every event: {replay_s:.1f} s"
    return [
        ratio_row("cold load of the job in one process (cache evicted)", long_ms, short_ms, 1.5, note),
        ratio_row(
            f"load at version {worst:,} (the most events after a snapshot: 24)", worst_ms,
            short_ms, 1.5, "median of 50; the 10-event job loaded cold as above",
        ),
    ]


# http: the service in new processes.


class Client:
    """Plain HTTP/1.1 on one kept-alive connection (as little client overhead as can be)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def get(self, path: str, **headers: str) -> bytes:
        self.connection.request("GET", path, headers={**self.headers, **headers})
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        return body

    def close(self) -> None:
        self.connection.close()


def part_http(folder: Path, info: dict[str, Any], work: Path) -> list[str]:
    data = work / "http-data"
    shutil.copytree(folder, data)
    long, short, events = info["long"], info["short"], info["events"]
    firsts: dict[int, list[float]] = {long: [], short: []}
    for sample in range(5):  # the first GET of each job in a fresh process
        with jobkeeper_serve(data, work / "http.log", JOBKEEPER_THREADS="8").start() as service:
            client = Client(service.port)
            # the process's own first reads of both stores, not of the measured jobs
            client.get("/api/v1/users/admin")
            client.get("/api/v1/jobs?limit=1")
            order = (long, short) if sample % 2 else (short, long)
            for number in order:
                started = time.perf_counter()
                client.get(f"/api/v1/jobs/{number}")
                firsts[number].append((time.perf_counter() - started) * 1000)
            client.close()
    rows = [
        ratio_row(
            "first GET /jobs/{id} in a new process", statistics.median(firsts[long]),
            statistics.median(firsts[short]), 1.5, "median of 5 fresh `jobkeeper serve`",
        )
    ]  # fmt: skip
    with jobkeeper_serve(data, work / "http.log", JOBKEEPER_THREADS="8").start() as service:
        client = Client(service.port)
        worker = service.worker_pid()

        def timed(path_of: Callable[[int, int], Any], times: int) -> tuple[float, float]:
            """Medians for the long and the short job, their requests interleaved (so a
            moment of load on the shared machine falls on both)."""
            asked = [path_of(long, events), path_of(short, SHORT_EVENTS)]
            requests = [(a, {}) if isinstance(a, str) else a for a in asked]
            samples: list[list[float]] = [[], []]
            for turn in range(times * 2):
                which = (turn + turn // 2) % 2  # long, short, short, long, ...
                path, headers = requests[which]
                started = time.perf_counter()
                client.get(path, **headers)
                samples[which].append((time.perf_counter() - started) * 1000)
            return statistics.median(samples[0]), statistics.median(samples[1])

        detail = timed(lambda n, _: f"/api/v1/jobs/{n}", 200)
        rows.append(ratio_row("GET /jobs/{id}, warm", *detail, 1.5, "median of 200"))
        first = timed(lambda n, _: f"/api/v1/jobs/{n}/history?limit=10", 100)
        rows.append(ratio_row("first history page (10 events each)", *first, 1.5, "median of 100"))
        newest = timed(lambda n, _: f"/api/v1/jobs/{n}/history?limit=10&order=desc", 100)
        rows.append(ratio_row("first history page, newest first (10 each)", *newest, 1.5, "median of 100"))
        default = timed(lambda n, _: f"/api/v1/jobs/{n}/history", 100)
        rows.append(
            f"| first history page at the default limit | {default[0]:.2f} ms (100 events) | "
            f"{default[1]:.2f} ms (10 events: all it has) | {default[0] / default[1]:.2f}× | | | "
            "median of 100; ten times the entries to encode |"
        )
        for offset, label in ((0, "a snapshot's own version"), (24, "24 events after a snapshot")):
            middle = timed(
                lambda n, c, o=offset: f"/api/v1/jobs/{n}?version={c // 2 + (o if c > SHORT_EVENTS else 0)}",
                100,
            )
            rows.append(
                ratio_row(
                    f"GET /jobs/{{id}}?version= half way ({events // 2 + offset:,} / "
                    f"{SHORT_EVENTS // 2}), {label}",
                    *middle, 3, "median of 100; nearest snapshot, then the events after it",
                )
            )  # fmt: skip
        resumed = timed(lambda n, c: (f"/api/v1/jobs/{n}/stream", {"Last-Event-ID": str(c - 3)}), 50)
        rows.append(
            ratio_row(
                "stream resumed with Last-Event-ID 3 events before the end", *resumed, 1.5,
                "median of 50; the whole answer (the job has ended, so the stream ends)",
            )
        )  # fmt: skip
        before = rss_mib(worker)
        started = time.perf_counter()
        size = len(client.get(f"/api/v1/jobs/{long}/history.ndjson"))
        seconds = time.perf_counter() - started
        after = rss_mib(worker)
        rows.append(
            f"| NDJSON download of the whole history | {seconds:.1f} s, {size / 2**20:,.0f} MiB "
            f"({events / seconds:,.0f} events/s) | | | | | worker RSS {before:.0f} → {after:.0f} MiB |"
        )
        client.close()
    shutil.rmtree(data)
    return rows


# worker: resident memory while jobs report.


WORKER_SCRIPT = """
import sys, time, json
from pathlib import Path
from jobkeeper.bootstrap import Runtime
from jobkeeper.settings import Settings
from jobkeeper.server import settle_memory
data, seconds, jobs = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
runtime = Runtime(Settings(data=data, checkpoint_interval=0.0001, poll_interval=0.5))
runtime.start()
settle_memory()
for _ in range(jobs):
    runtime.app.submit(kind="sleep", params={"seconds": 1e6, "step": 0.0001}, owner="admin", by="admin")
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
started = time.monotonic()
while time.monotonic() - started < seconds:
    time.sleep(5)
    print(json.dumps({"t": time.monotonic() - started, "events": runtime.app.position(), "rss": rss()}), flush=True)
runtime.close(timeout=10)
"""


def part_worker(work: Path, seconds: float) -> list[str]:
    data = work / "worker-data"
    command = [sys.executable, "-c", WORKER_SCRIPT, str(data), str(seconds), "8"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    samples = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    if len(samples) < 4:
        raise RuntimeError(f"worker benchmark failed: {out.stderr[-2000:]}")
    warm = samples[2]  # after the first 15 s: imports, caches and pools are in place
    last = samples[-1]
    grown = last["rss"] - warm["rss"]
    events = last["events"] - warm["events"]
    per_million = grown / events * 1e6
    verdict = "pass" if per_million < 10 else "**miss**"
    trace = ", ".join(f"{s['events'] // 1000}k: {s['rss']:.0f}" for s in samples[2::3])
    return [
        f"| worker RSS while 8 jobs report as fast as they can ({seconds:.0f} s) | "
        f"{warm['rss']:.1f} → {last['rss']:.1f} MiB over {events:,} events | "
        f"{per_million:+.1f} MiB per 1,000,000 events | | < 10 MB per 10^6 events | {verdict} | "
        f"events: MiB {trace} |"
    ]


# sweep: the liveness sweep at 100,000 queued jobs and at 10.


def part_sweep(work: Path) -> list[str]:
    results = {}
    for queued in (10, 100_000):
        results[queued] = _sweep_store(work / f"sweep-{queued}", queued)
    rows = []
    for label, key in (("no job due for a re-send", "idle"), ("10 jobs due for a re-send", "due")):
        big, small = results[100_000][key], results[10][key]
        rows.append(
            ratio_row(
                f"liveness sweep, {label} (100,000 queued / 10 queued)", big, small, 1.5,
                f"median of 20; the previous sweep's queries on the same views: "
                f"{results[100_000]['old']:.1f} ms / {results[10]['old']:.2f} ms",
            )
        )  # fmt: skip
    return [row.replace("1,000,000-event job", "") for row in rows]


def _sweep_store(data: Path, queued: int) -> dict[str, float]:
    from jobkeeper.actors import liveness
    from jobkeeper.application.app import JobKeeper
    from jobkeeper.domain.job import Job
    from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
    from jobkeeper.projections.store import SideTable, open_view_store
    from jobkeeper.projections.views import Views
    from jobkeeper.settings import Settings

    class Sent:
        def __init__(self) -> None:
            self.count = 0

        def dispatch(self, job_id: int, delay: float = 0.0) -> None:
            self.count += 1

    settings = Settings(data=data)
    data.mkdir(parents=True)
    sent = Sent()
    app = JobKeeper(settings.store_env(), dispatcher=sent)
    app.ensure_admin()
    long_ago = _now() - timedelta(hours=2)
    old = [
        Job.submit(number=n, owner="admin", kind="sleep", name="w", params={}, not_before=None,
                   deadline=None, by="admin", at=long_ago)
        for n in range(1, 11)
    ]  # fmt: skip
    app.save(*old)
    soon = _now() + timedelta(hours=1)  # queued "just now": none has waited at any clock here
    for first in range(11, queued + 11, 1000):
        batch = [
            Job.submit(number=n, owner="admin", kind="sleep", name="q", params={},
                       not_before=None, deadline=None, by="admin", at=soon)
            for n in range(first, min(first + 1000, queued + 11))
        ]  # fmt: skip
        app.save(*batch)
    store = open_view_store(settings.views_env(), VIEWS, side_tables=(cast(SideTable, liveness),))
    Projector(app, ViewProjection(store)).catch_up()
    views = Views(store, app.name)

    def sweeper(at: float) -> Any:
        sweeper = liveness.Liveness(
            app, store, views, worker_id="bench", timeout=30.0, dispatcher=sent,
            clock=lambda: at,
        )  # fmt: skip
        sweeper.sweep()  # its first sweep also looks for orphans, once per process
        sent.count = 0
        return sweeper

    now = time.time()
    idle_sweeper = sweeper(long_ago.timestamp() + 10)  # then nothing had waited 30 s yet
    idle = median_ms(idle_sweeper.sweep, 20)
    assert sent.count == 0, sent.count
    due_sweeper = sweeper(now)  # the ten old jobs have waited two hours; the rest are new
    due = median_ms(due_sweeper.sweep, 20)
    assert sent.count == 20 * 10, sent.count

    def previous() -> None:  # what the sweep read before: every live job's worker, 1,000 rows
        views.active_workers()
        views.jobs(status="queued", limit=1000)

    old_ms = median_ms(previous, 20)
    store.datastore.close()
    app.close()
    return {"idle": idle, "due": due, "old": old_ms}


# rebuild.


def part_rebuild(work: Path, cache: Path, rounds: int = 3) -> list[str]:
    """bench/rebuild.py's comparison, `rounds` times over, with wall-clock and CPU time: the
    wall-clock ratio swings with the other load on a shared machine; the CPU ratio of this
    process swings less (it does not credit the rebuild's second thread for overlapping)."""
    import rebuild

    from jobkeeper.actors import liveness
    from jobkeeper.bootstrap import open_app
    from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
    from jobkeeper.projections.store import SideTable, open_view_store
    from jobkeeper.settings import Settings

    store = ensure_store(100_000, cache)
    walls, cpus, raws = [], [], []
    for turn in range(rounds):
        data = work / f"rebuild-{turn}"
        data.mkdir()
        shutil.copyfile(store.path / "events.db", data / "events.db")
        settings = Settings.from_env({}, data=data)
        app = open_app(settings)
        views = open_view_store(settings.views_env(), VIEWS, side_tables=(cast(SideTable, liveness),))
        runner = Projector(app, ViewProjection(views))
        rebuild._read(app, runner.batch_size, map_events=False)  # warm the page cache
        wall, cpu = time.perf_counter(), time.process_time()
        events, _ = rebuild._read(app, runner.batch_size, map_events=False)
        raw_wall, raw_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        assert runner.catch_up() == events
        walls.append(raw_wall / (time.perf_counter() - wall))
        cpus.append(raw_cpu / (time.process_time() - cpu))
        raws.append(events / raw_wall)
        views.datastore.close()
        app.close()
        shutil.rmtree(data)
    wall_ratio, cpu_ratio = statistics.median(walls), statistics.median(cpus)
    verdict = "pass" if wall_ratio >= 0.25 else "**miss**"
    rebuild_rate = statistics.median(raws) * wall_ratio
    return [
        f"| view rebuild, fresh views + Projector.catch_up() ({events:,} events), median of {rounds} | "
        f"{rebuild_rate:,.0f} events/s | raw select_notifications {statistics.median(raws):,.0f} events/s | "
        f"{wall_ratio:.1%} (wall) | ≥ 25% of raw | {verdict} | rounds: "
        + ", ".join(f"{w:.1%}" for w in walls)
        + f"; CPU time of the process: {cpu_ratio:.1%} (rounds " + ", ".join(f"{c:.1%}" for c in cpus) + ") |"
    ]


# burst: resident memory after bursts of large legacy pages.


def part_burst(work: Path, cache: Path) -> list[str]:
    store = ensure_store(100_000, cache)
    data = store.copy_to(work / "burst-data")
    with jobkeeper_serve(data, work / "burst.log").start() as service:
        worker = service.worker_pid()
        time.sleep(2)
        idle = rss_mib(worker)
        # ordinary reads at the bursts' concurrency: 16 clients reading details and pages
        readers = [
            threading.Thread(target=_ordinary_reads, args=(service.port, reader))
            for reader in range(16)
        ]
        for thread in readers:
            thread.start()
        for thread in readers:
            thread.join()
        time.sleep(2)
        ordinary = rss_mib(worker)
        peak = ordinary
        for _ in range(3):
            threads = [
                threading.Thread(target=_legacy_page, args=(service.port, page))
                for page in range(16)
            ]
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads):
                peak = max(peak, rss_mib(worker))
                time.sleep(0.05)
        time.sleep(3)
        after = rss_mib(worker)
    ratio = after / ordinary
    verdict = "pass" if ratio <= 1.25 else "**miss**"
    return [
        f"| worker RSS after 3 bursts of 16 concurrent GET /api/getjobs/?limit=10000 | "
        f"{after:.0f} MiB (peak {peak:.0f}) | before the bursts, after ordinary reads by 16 clients: "
        f"{ordinary:.0f} MiB (idle {idle:.0f}) | {ratio:.2f}× | ≤ 1.25× | {verdict} | 100,000-job store |"
    ]


def _ordinary_reads(port: int, reader: int) -> None:
    client = Client(port)
    for number in range(1 + reader, 100_000, 2000):
        client.get(f"/api/v1/jobs/{number}")
        client.get("/api/v1/jobs/running?limit=50")
        client.get("/api/getjobs/?limit=50")
    client.close()


def _legacy_page(port: int, page: int) -> None:
    client = Client(port)
    paths = ("/api/getjobs/", "/api/getfinishedjobs/", "/api/runningjobs/")
    body = client.get(f"{paths[page % 3]}?limit=10000")
    assert body.startswith(b"[")
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--only", default=",".join(PARTS))
    parser.add_argument("--worker-seconds", type=float, default=120.0)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    started = time.perf_counter()
    folder, info = ensure_long_store(args.events, args.cache)
    print(f"long-job store: {folder} ({info})", flush=True)
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="jobkeeper-long-") as scratch:
        work = Path(scratch)
        steps: list[tuple[str, Callable[[], list[str]]]] = [
            ("load", lambda: part_load(folder, info)),
            ("http", lambda: part_http(folder, info, work)),
            ("worker", lambda: part_worker(work, args.worker_seconds)),
            ("sweep", lambda: part_sweep(work)),
            ("rebuild", lambda: part_rebuild(work, args.cache)),
            ("burst", lambda: part_burst(work, args.cache)),
        ]
        for name, step in steps:
            if name in parts:
                gc.collect()
                new = step()
                rows += new
                print("\n".join(new), flush=True)
    print(f"\n{HEADER}\n" + "\n".join(rows))
    print(f"\nsuite time: {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
