"""What the hash chain costs: a submit and a checkpoint with the chain against the same
operation without it (target: at most 1.1x), and the speed of verifying a whole store in
events per second against the raw read of the same events, all in one run.

The operations go through the application as the service calls them (`JobKeeper.submit`,
`JobKeeper.report`) on an SQLite store in a scratch folder. "Without the chain" replaces the
step that hashes a save's events with one that does nothing; the two modes alternate in
rounds on the same store so the machine's load falls on both alike, and each figure is the
median of the rounds.

    python bench/audit_chain.py [--rounds 40] [--ops 25] [--jobs 400]
"""

from __future__ import annotations

import argparse
import statistics
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


def compare(name: str, operation: Callable[[], Any], rounds: int, ops: int) -> None:
    chain = app_module._chain
    chained: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    for turn in range(rounds):
        for mode in ("on", "off") if turn % 2 == 0 else ("off", "on"):  # neither always first
            app_module._chain = chain if mode == "on" else no_chain  # type: ignore[assignment]
            (chained if mode == "on" else bare).append(timed(operation, ops))
    app_module._chain = chain
    for i, clock in enumerate(("wall", "CPU")):
        on = statistics.median(t[i] for t in chained)
        off = statistics.median(t[i] for t in bare)
        ratio = on / off
        verdict = "pass" if ratio <= TARGET else "MISS"
        print(f"  {name:<26} {clock:>4}  chain {on * 1e6:7.0f} us  without {off * 1e6:7.0f} us"
              f"  {ratio:5.3f}x  {verdict} (target <= {TARGET}x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--ops", type=int, default=25, help="operations per round and mode")
    parser.add_argument("--jobs", type=int, default=400, help="jobs in the verified store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobkeeper-bench-audit-") as folder:
        settings = Settings(data=Path(folder))
        app = open_app(settings)
        app.dispatcher = NoDispatch()
        app.create_user(name="alice", by="system")
        print(f"median of {args.rounds} rounds of {args.ops} operations, modes alternating")

        def submit() -> None:
            app.submit(kind="sleep", params={"seconds": 1}, owner="alice", by="alice")

        compare("submit", submit, args.rounds, args.ops)
        job_id = app.submit(kind="sleep", params={"seconds": 1}, owner="alice", by="alice")
        app.start(job_id.job.number, "run", "worker")
        step = iter(range(10**9))

        def checkpoint(lines: tuple[dict[str, str], ...]) -> Callable[[], None]:
            def report() -> None:
                n = next(step)
                app.report(job_id.job.number, "run", 0.5, {"step": n, "offset": n * 4096}, lines)

            return report

        compare("checkpoint, 1 log line", checkpoint((LINE,)), args.rounds, args.ops)
        compare("checkpoint, 100 log lines", checkpoint((LINE,) * 100), args.rounds, args.ops)
        app.close()
    with tempfile.TemporaryDirectory(prefix="jobkeeper-bench-audit-") as folder:
        settings = Settings(data=Path(folder))  # chained throughout, unlike the store above
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
                auditor.decode(notification)
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
