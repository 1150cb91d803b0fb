"""Latencies of the engine behind the API: submit → running, event → view, and a thousand live jobs.

Each function runs against a started `jobkeeper serve` (see bench/run.py) and returns plain
numbers; times come from the machine's one clock, read by the client (`time.time()`) and by
the service (event timestamps), which share it on loopback.
"""

from __future__ import annotations

import http.client
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import requests
from harness import FAR_FUTURE, Service, percentile, rss_mib, thread_count
from stop_latency import measure_stops


def submit_to_running(service: Service, samples: int, gap: float = 0.03) -> list[float]:
    """Seconds from sending POST /jobs to the job's Started event, with every worker free.

    One job at a time (a `sleep` of 20 ms), the next one only after the previous has finished,
    so a free worker is always waiting. The end is the `started_at` the service records.
    """
    http = service.session()
    api = f"{service.url}/api/v1"
    body = {"kind": "sleep", "params": {"seconds": 0.02, "step": 0.02}}
    latencies = []
    for _ in range(samples):
        sent = time.time()
        answer = http.post(f"{api}/jobs", json=body, timeout=10)
        answer.raise_for_status()
        job_id = answer.json()["id"]
        job = _wait(http, f"{api}/jobs/{job_id}", lambda j: j["status"] == "succeeded")
        latencies.append(datetime.fromisoformat(job["started_at"]).timestamp() - sent)
        time.sleep(gap)
    return latencies


def _wait(http: requests.Session, url: str, done: object, poll: float = 0.01) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        job = http.get(url, timeout=10).json()
        if done(job):  # type: ignore[operator]
            return job  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never reached the awaited state: {job}")
        time.sleep(poll)


@dataclass(frozen=True)
class LagResult:
    """Projection lag under a paced submit load."""

    lags: list[float]  # seconds from each Submitted event to its view commit
    offered_rate: float
    achieved_rate: float
    submit_latencies: list[float]
    late_sends: int  # requests sent more than 50 ms behind their schedule

    @property
    def sustained(self) -> bool:
        return self.achieved_rate >= 0.95 * self.offered_rate


def projection_lag(service: Service, rate: float, seconds: float, senders: int = 16) -> LagResult:
    """Submit at a steady `rate` per second for `seconds`; time each event into the views.

    An observer polls the view store's tracking position (the views' own commit of the
    batch that holds the event, read from views.db beside the service) every millisecond;
    an event is visible at the first poll whose position reaches the event's notification id
    (the JobKeeper-Position header of its submit). Submitted jobs are due far in the future,
    so they stay queued: the load is on the write and view path, not on running jobs.
    """
    assert service.data is not None
    total = int(rate * seconds)
    observer = _Observer(service.data / "views.db")
    observer.start()
    parts = urlsplit(service.url)
    body = orjson.dumps(
        {"kind": "sleep", "params": {"seconds": 60, "step": 1}, "not_before": FAR_FUTURE}
    )
    headers = {
        "Authorization": f"Bearer {service.token()}",
        "Content-Type": "application/json",
    }
    lock = threading.Lock()
    counter = iter(range(total))
    results: list[tuple[float, float, float, int, float]] = []
    begin = time.time() + 0.2

    def send() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            due = begin + index / rate
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            sent = time.time()
            connection.request("POST", "/api/v1/jobs", body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            received = time.time()
            if answer.status != 201:
                raise RuntimeError(f"submit answered {answer.status}: {payload[:200]!r}")
            position = int(answer.getheader("JobKeeper-Position") or 0)
            created = datetime.fromisoformat(orjson.loads(payload)["created_at"]).timestamp()
            with lock:
                results.append((due, sent, received, position, created))
        connection.close()

    threads = [threading.Thread(target=send, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds * 4 + 60)
    last = max(position for *_, position, _ in results)
    observer.wait_for(last, timeout=30)
    observer.stop()
    first_sent = min(sent for _, sent, *_ in results)
    last_done = max(received for _, _, received, *_ in results)
    lags = [observer.visible_at(position) - created for *_, position, created in results]
    return LagResult(
        lags=lags,
        offered_rate=rate,
        achieved_rate=len(results) / (last_done - first_sent),
        submit_latencies=[received - sent for _, sent, received, *_ in results],
        late_sends=sum(1 for due, sent, *_ in results if sent - due > 0.05),
    )


class _Observer:
    """Polls the views' tracking position and remembers when each position became visible."""

    def __init__(self, views: Path, interval: float = 0.001) -> None:
        self.connection = sqlite3.connect(f"file:{views}?mode=ro", uri=True, check_same_thread=False)
        self.interval = interval
        self.seen: list[tuple[int, float]] = []  # (position, first time seen), increasing
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self.connection.close()

    def _run(self) -> None:
        last = -1
        while not self._stopping.is_set():
            row = self.connection.execute("SELECT MAX(notification_id) FROM tracking").fetchone()
            now = time.time()
            position = int(row[0] or 0)
            if position > last:
                self.seen.append((position, now))
                last = position
            time.sleep(self.interval)

    def wait_for(self, position: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.seen or self.seen[-1][0] < position:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the views did not reach position {position}")
            time.sleep(0.01)

    def visible_at(self, position: int) -> float:
        for seen_position, at in self.seen:
            if seen_position >= position:
                return at
        raise RuntimeError(f"position {position} was never seen")


@dataclass(frozen=True)
class ThousandResult:
    """A thousand live jobs in one service: memory, threads, and stop latency among them."""

    running: int  # long jobs seen running before the stops began
    probes: int  # stop-measured jobs running beside them
    idle_rss_mb: float
    rss_mb: float  # the highest seen while they ran
    threads: int
    start_seconds: float
    stop_latencies: list[float]


def thousand_running(
    service: Service, jobs: int, probes: int, stops: int, step: float
) -> ThousandResult:
    """Run `jobs - probes` long `sleep` jobs (steps of one second), then measure `stops` stops
    of `step`-second jobs, `probes` at a time, so `jobs` jobs run at once while measured."""
    http = service.session()
    api = f"{service.url}/api/v1"
    pid = service.worker_pid()
    idle = rss_mib(pid) * 1.048576
    began = time.monotonic()
    body = {"kind": "sleep", "params": {"seconds": 3600, "step": 1.0}}
    for _ in range(jobs - probes):
        http.post(f"{api}/jobs", json=body, timeout=30).raise_for_status()
    running = _count_running(http, api, jobs - probes, timeout=300)
    start_seconds = time.monotonic() - began
    peak = _PeakRss(pid)
    peak.start()
    latencies = measure_stops(http, api, stops, step, parallel=probes)
    peak.stop()
    return ThousandResult(
        running=running,
        probes=probes,
        idle_rss_mb=idle,
        rss_mb=peak.peak_mb,
        threads=peak.threads,
        start_seconds=start_seconds,
        stop_latencies=latencies,
    )


def _count_running(http: requests.Session, api: str, want: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        page = http.get(f"{api}/jobs", params={"status": "running", "limit": 1000}, timeout=30)
        count = len(page.json()["items"])
        if count >= want:
            return count
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count} of {want} jobs running after {timeout:.0f} s")
        time.sleep(0.5)


class _PeakRss:
    """Samples a process's resident memory and thread count every half second."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self.threads = pid, 0.0, 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, rss_mib(self.pid) * 1.048576)
            self.threads = max(self.threads, thread_count(self.pid))
            if self._stopping.wait(0.5):
                return


def summary_ms(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max of `values` (seconds), in milliseconds."""
    return (
        percentile(values, 50) * 1000,
        percentile(values, 99) * 1000,
        max(values) * 1000 if values else float("nan"),
    )
