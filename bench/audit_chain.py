"""What the hash chain costs: a submit and a checkpoint with the chain against the same
operation without it (target: at most 1.1x), and the speed of verifying a whole store in
events per second against the raw read of the same events, all in one run.

The operations go through the application as the service calls them (`JobKeeper.submit`,
`JobKeeper.report`) on an SQLite store in a scratch folder. "Without the chain" replaces the
step that links a save's events with one that does nothing, so the mapper records them as the
library does, with no link, no hash and no sealing; the two modes alternate in rounds on the
same store so the machine's load falls on both alike, and each figure is the median of the
rounds.

Each figure is measured in several fresh processes (how one process happens to lay out its
code and data moves a ratio by a few points), and the median of their ratios is the one read
against the target; each process's ratio is printed beside it.

    python bench/audit_chain.py [--processes 5] [--rounds 200] [--ops 25] [--jobs 400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobkeeper.application import app as app_module
from jobkeeper.bootstrap import open_app, open_auditor
from jobkeeper.settings import Settings

TARGET = 1.1
LINE = {"at": "2030-01-01T00:00:00+00:00", "text": "step done: 1,234 rows copied"}


class NoDispatch:
    """Queues nothing: the bench measures the application and its store alone."""

    def dispatch(self, job_id: int, delay: float = 0.0) -> None:
        pass


def no_chain(processing_event: Any, stored_head: Any) -> dict[str, str]:
    return {}


def timed(operation: Callable[[], Any], ops: int) -> tuple[float, float]:
    """Wall and CPU time of one operation, on average over `ops` of them."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(ops):
        operation()
    return (time.perf_counter() - wall) / ops, (time.process_time() - cpu) / ops


def compare(operation: Callable[[], Any], rounds: int, ops: int) -> dict[str, list[float]]:
    """Median wall and CPU time of `operation` with and without the chain, in µs."""
    chain = app_module._chain
    chained: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    for turn in range(rounds):
        for mode in ("on", "off") if turn % 2 == 0 else ("off", "on"):  # neither always first
            app_module._chain = chain if mode == "on" else no_chain  # type: ignore[assignment]
            (chained if mode == "on" else bare).append(timed(operation, ops))
    app_module._chain = chain
    return {
        clock: [statistics.median(t[i] for t in chained) * 1e6,
                statistics.median(t[i] for t in bare) * 1e6]
        for i, clock in enumerate(("wall", "CPU"))
    }  # fmt: skip


def measure(rounds: int, ops: int) -> dict[str, dict[str, list[float]]]:
    """One process's figures: each operation, with and without the chain."""
    with tempfile.TemporaryDirectory(prefix="jobkeeper-bench-audit-") as folder:
        app = open_app(Settings(data=Path(folder)))
        app.dispatcher = NoDispatch()
        app.create_user(name="alice", by="system")

        def submit() -> None:
            app.submit(kind="sleep", params={"seconds": 1}, owner="alice", by="alice")

        figures = {"submit": compare(submit, rounds, ops)}
        job = app.submit(kind="sleep", params={"seconds": 1}, owner="alice", by="alice").job
        app.start(job.number, "run", "worker")
        step = iter(range(10**9))

        def checkpoint(lines: tuple[dict[str, str], ...]) -> Callable[[], None]:
            def report() -> None:
                n = next(step)
                app.report(job.number, "run", 0.5, {"step": n, "offset": n * 4096}, lines)

            return report

        figures["checkpoint, 1 log line"] = compare(checkpoint((LINE,)), rounds, ops)
        lines = tuple(dict(LINE, text=f"{LINE['text']} ({i})") for i in range(100))
        figures["checkpoint, 100 log lines"] = compare(checkpoint(lines), rounds, ops)
        app.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--ops", type=int, default=25, help="operations per round and mode")
    parser.add_argument("--processes", type=int, default=5, help="fresh processes measured")
    parser.add_argument("--jobs", type=int, default=400, help="jobs in the verified store")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one process's figures, for the run that started it
        print(json.dumps(measure(args.rounds, args.ops)))
        return
    runs = []
    for _ in range(args.processes):  # each process lays out its code and data anew
        command = [sys.executable, __file__, "--one", "--rounds", str(args.rounds),
                   "--ops", str(args.ops)]  # fmt: skip
        runs.append(json.loads(subprocess.run(command, check=True, capture_output=True).stdout))
    print(f"{args.processes} processes, each the median of {args.rounds} rounds of {args.ops}"
          " operations per mode, modes alternating; ratios: chain / without")  # fmt: skip
    for name in runs[0]:
        for clock in ("wall", "CPU"):
            ratios = [run[name][clock][0] / run[name][clock][1] for run in runs]
            on = statistics.median(run[name][clock][0] for run in runs)
            off = statistics.median(run[name][clock][1] for run in runs)
            ratio = statistics.median(ratios)
            verdict = "pass" if ratio <= TARGET else "MISS"
            each = " ".join(f"{r:.3f}" for r in ratios)
            print(f"  {name:<26} {clock:>4}  chain {on:5.0f} us  without {off:5.0f} us  median"
                  f" {ratio:5.3f}x  {verdict} (target <= {TARGET}x)  [{each}]")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="jobkeeper-bench-audit-") as folder:
        settings = Settings(data=Path(folder))  # chained throughout
        app = open_app(settings)
        app.dispatcher = NoDispatch()
        app.create_user(name="alice", by="system")
        verify_speed(app, settings, args.jobs)
        app.close()


def verify_speed(app: Any, settings: Settings, jobs: int) -> None:
    """Events per second: the audit's whole-store check against reading the same rows."""
    for _ in range(jobs):
        job = app.submit(kind="sleep", params={"seconds": 1}, owner="alice", by="alice").job
        app.start(job.number, "run", "worker")
        for step in range(20):
            app.report(job.number, "run", step / 20, {"step": step}, (LINE,))
        app.succeed(job.number, "run", {"done": True}, ())
    auditor = open_auditor(app, settings)
    recorder = app.recorder

    def raw() -> int:
        start, read = 1, 0
        while page := recorder.select_notifications(start, 1000):
            read += len(page)
            start = page[-1].id + 1
        return read

    def decoded() -> int:
        start, read = 1, 0
        while page := recorder.select_notifications(start, 1000):
            for notification in page:
                auditor.rows.decode(notification)
            read += len(page)
            start = page[-1].id + 1
        return read

    figures: dict[str, list[float]] = {"raw read": [], "read + decode": [], "verify": []}
    events = raw()
    for _ in range(5):
        for name, run in (("raw read", raw), ("read + decode", decoded),
                          ("verify", lambda: auditor.verify_store().events)):  # fmt: skip
            started = time.perf_counter()
            run()
            figures[name].append(time.perf_counter() - started)
    report = auditor.verify_store()
    assert report.intact, report.broken
    base = events / statistics.median(figures["raw read"])
    print(f"verifying {events:,} events ({report.streams:,} chains), median of 5 runs")
    for name, seconds in figures.items():
        rate = events / statistics.median(seconds)
        print(f"  {name:<34} {rate:12,.0f} events/s   {rate / base:5.3f}x the raw read")


if __name__ == "__main__":
    main()
