"""1,000 open event streams: are other requests answered as fast, do the streams get updates soon?

Starts `jobkeeper serve` and a scaled `jobkeeper api` (2 processes, with a worker and the
projector on PostgreSQL and Redis) on loopback. For each: queues JOBS jobs that will not start,
measures the latency of ordinary requests (GET /healthz, a page of GET /api/v1/jobs, a job) with
no stream open, and again while half the jobs are cancelled one after another (the baselines);
then opens STREAMS streams on the other half (nine in ten `GET /jobs/{id}/stream`, one in ten
`GET /jobs/stream`), measures the same requests with the streams open and idle, and again while
those jobs are cancelled, timing each cancellation from its request to its arrival on every
stream that shows it.

    python bench/streams.py                  # both modes, 1,000 streams
    python bench/streams.py --mode embedded --streams 1000 --requests 600

Targets: p99 with the streams open within 1.5x of the baseline; every update within 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from services import Running, percentile, running

LATER = "2999-01-01T00:00:00Z"


def measure_requests(run: Running, count: int, job_ids: list[int], clients: int = 4) -> list[float]:
    """Latencies (s) of `count` ordinary requests from `clients` kept-alive clients."""
    paths = ["/healthz", "/api/v1/jobs?limit=20", *(f"/api/v1/jobs/{i}" for i in job_ids[:5])]

    def client(number: int) -> list[float]:
        http = run.session()
        out = []
        for n in range(count // clients):
            path = paths[(n + number) % len(paths)]
            started = time.monotonic()
            answer = http.get(run.url + path, timeout=30)
            out.append(time.monotonic() - started)
            assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return out

    with ThreadPoolExecutor(clients) as pool:
        return [value for part in pool.map(client, range(clients)) for value in part]


class Streams:
    """Many streams on one asyncio loop in a process of its own (so that reading them does not
    slow the measuring client down); when each stream saw each job cancelled."""

    def __init__(self, run: Running) -> None:
        self.parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=_streams_process, args=(run.port, run.token, child), daemon=True
        )
        self.process.start()
        self.kinds: list[int | None] = []

    def open(self, paths: list[tuple[str, int | None]]) -> None:
        """Open them all; return when every one answered 200."""
        self.kinds = [job for _, job in paths]
        self.parent.send(("open", paths))
        answer = self.parent.recv()
        if answer != "ready":
            raise RuntimeError(answer)

    def seen(self) -> list[dict[int, float]]:
        """For each stream, when (time.monotonic) it saw each job cancelled so far."""
        self.parent.send(("seen", None))
        seen: list[dict[int, float]] = self.parent.recv()
        return seen

    def close(self) -> None:
        self.parent.send(("close", None))
        self.process.join(30)


def _streams_process(port: int, token: str, pipe: Any) -> None:
    seen: list[dict[int, float]] = []

    async def follow(path: str, opened: asyncio.Future[None]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            opened.set_exception(RuntimeError(head.decode(errors="replace")))
            return
        mine: dict[int, float] = {}
        seen.append(mine)
        opened.set_result(None)
        while True:
            try:
                block = await reader.readuntil(b"\n\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if b'"status":"cancelled"' not in block:
                continue
            at = time.monotonic()
            for line in block.split(b"\n"):
                line = line.split(b"\r\n")[-1]  # chunk sizes of the chunked body
                if line.startswith(b"data: "):
                    mine.setdefault(orjson.loads(line[6:])["id"], at)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        tasks = []
        while True:
            command, argument = await loop.run_in_executor(None, pipe.recv)
            if command == "open":
                try:
                    for start in range(0, len(argument), 50):
                        ready = []
                        for path, _ in argument[start : start + 50]:
                            opened = loop.create_future()
                            tasks.append(asyncio.ensure_future(follow(path, opened)))
                            ready.append(opened)
                        await asyncio.gather(*ready)
                    pipe.send("ready")
                except Exception as error:  # reported to the parent
                    pipe.send(repr(error))
            elif command == "seen":
                pipe.send(seen)
            else:
                for task in tasks:
                    task.cancel()
                return

    asyncio.run(serve())


def cancel_all(
    run: Running, job_ids: list[int], requests: int
) -> tuple[dict[int, float], list[float]]:
    """Cancel the jobs one after another while measuring ordinary requests beside; when each
    cancel was sent, and the requests' latencies."""
    http = run.session()
    sent: dict[int, float] = {}
    during: list[float] = []
    measuring = threading.Thread(
        target=lambda: during.extend(measure_requests(run, requests, job_ids))
    )
    measuring.start()
    for job in job_ids:
        sent[job] = time.monotonic()
        answer = http.post(f"{run.url}/api/v1/jobs/{job}/cancel", timeout=30)
        assert answer.status_code == 200, answer.text
        time.sleep(0.02)
    measuring.join()
    return sent, during


def bench_mode(
    mode: str, streams: int, jobs: int, requests: int, work: Path, store: int = 0
) -> list[str]:
    lines = []
    settings = {"max_streams_per_user": str(streams * 2), "threads": "32"}
    data = None
    if store:
        from stores import default_cache, ensure_store

        data = ensure_store(store, default_cache()).copy_to(work / f"store-{store}")
    with running(mode, work / mode, data=data, **settings) as run:
        http = run.session()
        body = {"kind": "sleep", "params": {"seconds": 60}, "not_before": LATER}
        job_ids = [
            http.post(f"{run.url}/api/v1/jobs", json={**body, "name": f"job {n}"}).json()["id"]
            for n in range(2 * jobs)
        ]
        first, second = job_ids[:jobs], job_ids[jobs:]
        measure_requests(run, requests // 4, job_ids)  # warm up
        baseline = measure_requests(run, requests, job_ids)
        _, baseline_updating = cancel_all(run, first, requests)  # the same work, no stream
        paths: list[tuple[str, int | None]] = []
        for n in range(streams):
            if n % 10 == 9:
                paths.append(("/api/v1/jobs/stream?kind=sleep", None))
            else:
                job = second[n % len(second)]
                paths.append((f"/api/v1/jobs/{job}/stream", job))
        followers = Streams(run)
        started = time.monotonic()
        followers.open(paths)
        opening = time.monotonic() - started
        time.sleep(2)
        idle = measure_requests(run, requests, job_ids)
        sent, during = cancel_all(run, second, requests)
        expected = sum(1 if kind is not None else len(second) for kind in followers.kinds)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            seen = followers.seen()
            if sum(len([j for j in mine if j in sent]) for mine in seen) >= expected:
                break
            time.sleep(0.2)
        delays = [at - sent[job] for mine in seen for job, at in mine.items() if job in sent]
        followers.close()
    missing = expected - len(delays)
    lists = sum(kind is None for kind in followers.kinds)
    lines.append(
        f"mode={mode}  store={store or 2 * jobs:,} jobs"
        f"  streams={streams} ({streams - lists} job streams, {lists} list streams)"
        f"  jobs cancelled per sweep={jobs}  requests per phase={requests}"
        f"  (streams opened in {opening:.1f} s)"
    )
    lines.append("  other requests                      p50 ms   p99 ms   p99 / its baseline")
    for name, values, base in (
        ("no stream, idle (baseline 1)", baseline, baseline),
        ("1,000 streams open, idle", idle, baseline),
        ("no stream, cancels (baseline 2)", baseline_updating, baseline_updating),
        ("1,000 streams open, cancels", during, baseline_updating),
    ):
        p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
        lines.append(
            f"  {name:<34} {p50:6.1f}  {p99:7.1f}   {p99 / 1000 / percentile(base, 99):5.2f}x"
        )
    within = sum(delay <= 1.0 for delay in delays)
    lines.append(
        f"  updates delivered {len(delays)}/{expected} (missing {missing}): p50 "
        f"{percentile(delays, 50) * 1000:.0f} ms, p99 {percentile(delays, 99) * 1000:.0f} ms, "
        f"max {max(delays, default=float('nan')) * 1000:.0f} ms; within 1 s: {within}/{expected}"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["embedded", "scaled", "both"], default="both")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--stores",
        default="",
        help="embedded only: also run on copies of bench/stores.py stores of these sizes "
        "(e.g. 100000,1000000), to see the cost of streams does not grow with the store",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jobkeeper-bench-streams-"))
    modes = ["embedded", "scaled"] if args.mode == "both" else [args.mode]
    report = []
    runs = [(mode, 0) for mode in modes]
    runs += [("embedded", int(size)) for size in args.stores.split(",") if size]
    for mode, store in runs:
        report += bench_mode(mode, args.streams, args.jobs, args.requests, work, store)
        print("\n".join(report[-7:]), flush=True)
    print("\n" + "\n".join(report))


if __name__ == "__main__":
    main()
