"""Prometheus metrics: counters and histograms this process adds to, and the gauges read
from the views when scraped.

Under gunicorn with several processes, `PROMETHEUS_MULTIPROC_DIR` names a folder the server
empties at start and sets before any process imports prometheus_client; each process then
writes its counters there, and a scrape, whichever process answers it, adds them all up.
Gauges about jobs, workers and the views' lag are read from the views at scrape time by the
process that answers, so every process gives the same answer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "jobkeeper_http_requests_total",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "jobkeeper_http_request_duration_seconds",
    "Time to answer an HTTP request (to its first byte for streams), by route and method",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SUBMITS = Counter(
    "jobkeeper_submits_total",
    "Jobs submitted, by kind and outcome (recorded, replayed, or the error)",
    ["kind", "outcome"],
)
COMMANDS = Counter(
    "jobkeeper_commands_total",
    "Job commands, by command and outcome (recorded, unchanged, replayed, or the error)",
    ["command", "outcome"],
)
STEP_SECONDS = Histogram(
    "jobkeeper_job_step_duration_seconds",
    "Time a job's kind took for one step, by kind",
    ["kind"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60),
)
VIEW_ROWS_VERIFIED = Counter(
    "jobkeeper_view_rows_verified_total",
    "View rows compared with a replay of the log, by table and outcome (match, differ, missing)",
    ["table", "outcome"],
)
RATE_LIMITED = Counter(
    "jobkeeper_rate_limited_total",
    "Requests refused with 429, by budget (commands or reads)",
    ["budget"],
)


@dataclass(frozen=True)
class Snapshot:
    """What the views say now, for the gauges."""

    jobs: list[tuple[str, str, int]]  # status, kind, count
    waiting: int  # queued jobs that are due and no worker has taken
    live_workers: int
    running_by_worker: list[tuple[str, int]]
    lag_events: int
    lag_seconds: float


class ViewGauges(Collector):
    """The gauges read from the views at scrape time."""

    def __init__(self, read: Callable[[], Snapshot]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        now = self.read()
        jobs = GaugeMetricFamily(
            "jobkeeper_jobs", "Jobs in the views, by status and kind", labels=["status", "kind"]
        )
        for status, kind, count in now.jobs:
            jobs.add_metric([status, kind], count)
        yield jobs
        yield GaugeMetricFamily(
            "jobkeeper_jobs_waiting", "Queued jobs that are due, waiting for a worker",
            value=now.waiting,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "jobkeeper_workers_live", "Workers whose heartbeat is recent", value=now.live_workers
        )
        running = GaugeMetricFamily(
            "jobkeeper_worker_running_jobs", "Jobs running on each worker", labels=["worker"]
        )
        for worker, count in now.running_by_worker:
            running.add_metric([worker], count)
        yield running
        yield GaugeMetricFamily(
            "jobkeeper_projection_lag_events",
            "Events recorded that the views do not include yet",
            value=now.lag_events,
        )
        yield GaugeMetricFamily(
            "jobkeeper_projection_lag_seconds",
            "Age of the oldest event the views do not include yet (0 when up to date)",
            value=now.lag_seconds,
        )


def exposition(read: Callable[[], Snapshot]) -> bytes:
    """The text format of every metric: this process's (or all processes') counters and
    histograms, and the view gauges."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counters: bytes = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    gauges = CollectorRegistry()
    gauges.register(ViewGauges(read))
    return counters + generate_latest(gauges)


def clear_folder(path: str) -> None:
    """Empty the multi-process folder (at the server's start: files of old processes)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def process_gone(pid: int) -> None:
    """Let the live-gauge files of a process that exited go (gunicorn's child_exit)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class RequestCounts:
    """The application's counter of submits and commands (its `Counter` port). Kinds that
    are not registered count as "other", so a caller cannot make new series at will."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.kinds = frozenset(kinds)

    def submitted(self, kind: str, outcome: str) -> None:
        SUBMITS.labels(kind if kind in self.kinds else "other", outcome).inc()

    def commanded(self, command: str, outcome: str) -> None:
        COMMANDS.labels(command, outcome).inc()


def count_verified_rows(compared: Mapping[tuple[str, str], int]) -> None:
    """Add the rows of one views check to the verified-rows counter."""
    for (table, outcome), rows in compared.items():
        VIEW_ROWS_VERIFIED.labels(table, outcome).inc(rows)
