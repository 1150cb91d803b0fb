"""Worker liveness: heartbeats, a lease that fences a silent worker, and the sweeper.

Each worker process records a heartbeat every `timeout / 6` seconds. A worker that cannot
record one for `timeout / 2` seconds stops taking steps (its lease lapsed); the sweeper, in
every worker, hands back the live jobs of workers silent for `timeout` seconds. The lease
lapses well before any sweeper acts, so a lost worker never runs a step alongside the worker
that took its job over; the run fence on every event catches anything that slips through.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from jobkeeper.application.app import JobKeeper
from jobkeeper.application.ports import Dispatcher
from jobkeeper.domain.errors import DomainError
from jobkeeper.domain.lifecycle import LIVE
from jobkeeper.projections.store import ViewStore
from jobkeeper.projections.views import Views

log = logging.getLogger(__name__)

tables = ("workers",)


def create_statements(t: dict[str, str]) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {t['workers']} ("
        "worker_id TEXT PRIMARY KEY, seen_at DOUBLE PRECISION NOT NULL)"
    ]


class Liveness:
    """This worker's heartbeat and lease, and the sweeper of lost workers' jobs."""

    def __init__(
        self,
        app: JobKeeper,
        store: ViewStore,
        views: Views,
        *,
        worker_id: str,
        timeout: float,
        dispatcher: Dispatcher,
        has_room: Callable[[], bool] = lambda: True,
        live_runs: Callable[[], set[str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.store, self.views = app, store, views
        self.has_room, self.dispatcher, self.live_runs = has_room, dispatcher, live_runs
        self.worker_id, self.timeout, self.clock = worker_id, timeout, clock
        self.interval = timeout / 6
        self._lease_until = time.monotonic() + timeout / 2
        self._orphans: dict[str, float] = {}  # run id -> when it was first seen without actor
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def lease_valid(self) -> bool:
        """Whether this worker has recently proved it is alive and may take steps."""
        return time.monotonic() < self._lease_until

    def beat(self) -> None:
        """Record that this worker is alive now, and extend its lease."""
        started = time.monotonic()
        with self.store.writing() as db:
            db.execute(
                "INSERT INTO {workers} (worker_id, seen_at) VALUES (?, ?) "
                "ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at",
                (self.worker_id, self.clock()),
            )
        self._lease_until = started + self.timeout / 2

    def forget(self) -> None:
        """Remove this worker's heartbeat (it is leaving with nothing live)."""
        with self.store.writing() as db:
            db.execute("DELETE FROM {workers} WHERE worker_id = ?", (self.worker_id,))

    def sweep(self) -> list[int]:
        """Hand back the live jobs of silent workers; returns their ids."""
        with self.store.reading() as db:
            seen = {r["worker_id"]: r["seen_at"] for r in db.all("SELECT * FROM {workers}")}
        now = self.clock()
        cutoff = now - self.timeout
        handed_back = self._hand_back_orphans()
        for worker in sorted(self.views.active_workers()):
            if worker == self.worker_id or seen.get(worker, 0.0) > cutoff:
                continue
            for (job_id,) in self.views.stored_jobs(
                ("id",), phase="running", worker=worker, limit=10**9
            ):
                if self._hand_back(job_id, worker):
                    handed_back.append(job_id)
        with self.store.writing() as db:  # long-gone workers
            db.execute("DELETE FROM {workers} WHERE seen_at < ?", (now - 20 * self.timeout,))
        self._redispatch_waiting(now)
        return handed_back

    def _hand_back_orphans(self) -> list[int]:
        """Hand back this worker's live jobs whose run has had no actor here for `timeout`
        seconds: a run that broke while the store was down could not hand its job back."""
        if self.live_runs is None:
            return []
        rows = self.views.stored_jobs(("id",), phase="running", worker=self.worker_id, limit=10**9)
        jobs = [self.app.get_job(job_id) for (job_id,) in rows]
        runs = self.live_runs()  # after loading the jobs: a run started since is in it
        now = time.monotonic()
        seen, self._orphans = self._orphans, {}
        orphans = []
        for job in jobs:
            if job.status not in LIVE or job.worker != self.worker_id or job.run_id in runs:
                continue
            since = self._orphans[str(job.run_id)] = seen.get(str(job.run_id), now)
            if now - since < self.timeout:
                continue
            reason = f"its run ended on worker {self.worker_id} without handing the job back"
            try:
                self.app.hand_back(job.number, str(job.run_id), reason)
            except DomainError:
                continue  # the run recorded its end meanwhile
            log.warning("job %s: %s; handed back", job.number, reason)
            orphans.append(job.number)
        return orphans

    def _redispatch_waiting(self, now: float) -> None:
        """Send again the queued jobs that waited `timeout` with no worker taking them.

        A message can be lost with the worker that had fetched it; another delivery of a
        job that is started by then is skipped, so this only costs a message. It is done
        only while this worker has room, so a backlog does not multiply its messages.
        """
        if not self.has_room():
            return
        for row in self.views.jobs(status="queued", limit=1000):
            due = row["not_before"] is None or row["not_before"].timestamp() <= now
            if due and row["updated_at"].timestamp() < now - self.timeout:
                self.dispatcher.dispatch(row["id"])

    def _hand_back(self, job_id: int, worker: str) -> bool:
        job = self.app.get_job(job_id)
        if job.status not in LIVE or job.worker != worker or job.run_id is None:
            return False
        reason = f"worker {worker} was lost: no heartbeat for {self.timeout:g} s"
        try:
            self.app.hand_back(job_id, job.run_id, reason)
        except DomainError:
            return False  # its run moved on meanwhile
        log.warning("job %s: %s; handed back", job_id, reason)
        return True

    def start(self) -> None:
        """Beat now, then beat and sweep in the background."""
        self.beat()
        self._thread = threading.Thread(target=self._run, name="liveness", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.beat()
            except Exception:
                log.exception("could not record this worker's heartbeat")
                continue
            try:
                self.sweep()
            except Exception:
                log.exception("could not look for lost workers")
