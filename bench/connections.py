"""Kept-alive clients across idle gaps, and a new client beside 1,000 idle and 1,000 slow ones.

Starts `jobkeeper serve` (or with `--mode scaled` a scaled `jobkeeper api`) on loopback.

1. Keep-alive: CLIENTS clients (half httpx.Client, half requests.Session, as used by default)
   each send their share of REQUESTS requests (GET /healthz, a page of GET /api/v1/jobs, and one
   in ten a POST /api/v1/jobs) on their kept-alive connections, idling a random 0 to 10 s before
   each. Every connection error (reset, "server disconnected", timeout) is counted.
2. Idle and slow: a new client (a fresh connection each time) asks for /healthz and a page of
   jobs SAMPLES times with nothing else open (the baseline), then again while IDLE connections
   sit idle and IDLE more send a request's headers one byte a second.

    python bench/connections.py                          # 10,000 requests, 1,000 + 1,000
    python bench/connections.py --requests 2000 --clients 100

Targets: 0 connection errors; the new client answered within 1 s beside the open connections.
"""

from __future__ import annotations

import argparse
import random
import socket
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import httpx
import requests
from services import Running, percentile, running


def keep_alive(run: Running, total: int, clients: int, gap: float) -> tuple[int, Counter[str]]:
    """How many of `total` requests were answered, and the connection errors by kind."""
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def client(number: int) -> int:
        rng = random.Random(number)
        session: httpx.Client | requests.Session
        session = httpx.Client() if number % 2 == 0 else requests.Session()
        session.headers["Authorization"] = f"Bearer {run.token}"
        answered = 0
        with session:
            for n in range(total // clients):
                time.sleep(rng.uniform(0, gap))
                try:
                    if n % 10 == 9:
                        body = {"kind": "sleep", "params": {"seconds": 0.01}}
                        answer = session.post(f"{run.url}/api/v1/jobs", json=body, timeout=30)
                        answered += answer.status_code == 201
                    else:
                        path = "/healthz" if n % 2 else "/api/v1/jobs?limit=5"
                        answered += session.get(run.url + path, timeout=30).status_code == 200
                except (httpx.HTTPError, requests.RequestException) as error:
                    with lock:
                        errors[f"{type(error).__name__}: {str(error)[:80]}"] += 1
        return answered

    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(client, range(clients))), errors


def new_client(run: Running, samples: int) -> list[float]:
    """Latencies (s) of requests each on a fresh connection."""
    out = []
    headers = {"Authorization": f"Bearer {run.token}", "Connection": "close"}
    for n in range(samples):
        path = "/healthz" if n % 2 else "/api/v1/jobs?limit=5"
        started = time.perf_counter()
        answer = requests.get(run.url + path, headers=headers, timeout=30)
        out.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
        time.sleep(0.05)
    return out


class IdleAndSlow:
    """`count` idle connections, and `count` sending a request's headers a byte a second."""

    def __init__(self, run: Running, count: int) -> None:
        self.idle = [socket.create_connection(("127.0.0.1", run.port)) for _ in range(count)]
        self.slow = [socket.create_connection(("127.0.0.1", run.port)) for _ in range(count)]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        request = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"x" * 1000
        for byte in request:
            for sock in self.slow:
                with suppress(OSError):
                    sock.send(bytes([byte]))
            if self.stop.wait(1.0):
                return

    def alive(self) -> int:
        """How many of the slow connections the server still holds open."""
        open_ = 0
        for sock in self.slow:
            sock.setblocking(False)
            try:
                open_ += sock.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                open_ += 1
            except OSError:
                pass
            sock.setblocking(True)
        return open_

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for sock in [*self.idle, *self.slow]:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["embedded", "scaled"], default="embedded")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=250)
    parser.add_argument("--gap", type=float, default=10.0, help="longest idle gap (s)")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jobkeeper-bench-connections-"))
    with running(args.mode, work) as run:
        started = time.perf_counter()
        answered, errors = keep_alive(run, args.requests, args.clients, args.gap)
        took = time.perf_counter() - started
        sent = args.requests // args.clients * args.clients
        print(
            f"mode={args.mode}  keep-alive: {answered}/{sent} answered, "
            f"{sum(errors.values())} connection errors ({args.clients} clients, half httpx, "
            f"half requests; idle gaps 0-{args.gap:.0f} s; {took:.0f} s)",
            flush=True,
        )
        for kind, count in errors.most_common():
            print(f"    {count} x {kind}")
        baseline = new_client(run, args.samples)
        crowd = IdleAndSlow(run, args.idle)
        time.sleep(3)  # a few bytes of every slow request are in
        beside = new_client(run, args.samples)
        held = crowd.alive()
        crowd.close()
    worst = max(beside)
    print("  new client (fresh connection)    p50 ms   p99 ms   max ms   p99 / baseline")
    for name, values in (("alone (baseline)", baseline),
                         (f"beside {args.idle} idle + {args.idle} slow", beside)):  # fmt: skip
        print(
            f"  {name:<32} {percentile(values, 50) * 1000:6.1f}  {percentile(values, 99) * 1000:7.1f}"
            f"  {max(values) * 1000:7.1f}   {percentile(values, 99) / percentile(baseline, 99):5.2f}x"
        )
    print(
        f"  slowest answer beside them: {worst * 1000:.0f} ms (target: under 1000 ms); "
        f"slow connections still held open by the server: {held}/{args.idle}"
    )


if __name__ == "__main__":
    main()
