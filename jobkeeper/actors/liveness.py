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
from datetime import UTC, datetime

from jobkeeper.application.app import JobKeeper
from jobkeeper.application.ports import Dispatcher
from jobkeeper.domain.errors import DomainError
from jobkeeper.domain.lifecycle import LIVE
from jobkeeper.projections.store import ViewStore
from jobkeeper.projections.views import Views

log = logging.getLogger(__name__)

tables = ("workers",)
RESEND_LIMIT = 1000
"""Queued jobs one sweep sends again at most (the longest waiting)."""


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
        self._looked_for_orphans = False

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
        """Hand back the live jobs of silent workers, and send again the queued jobs that
        waited too long; returns the ids handed back.

        It reads only what needs it: the workers whose last heartbeat is too old, their jobs
        (indexed by worker), and the longest-waiting queued jobs (indexed by how long they
        have waited). Its first run in a process also looks for live jobs of workers that
        have no heartbeat row at all (removed by an older version), once.
        """
        now = self.clock()
        cutoff = now - self.timeout
        handed_back = self._hand_back_orphans()
        for worker in sorted(self._silent_workers(cutoff)):
            for job_id in self.views.jobs_run_by(worker):
                if self._hand_back(job_id, worker):
                    handed_back.append(job_id)
        with self.store.writing() as db:  # long-gone workers that have no live job left
            db.execute(
                "DELETE FROM {workers} WHERE seen_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM {jobs} WHERE {jobs}.worker = {workers}.worker_id)",
                (now - 20 * self.timeout,),
            )
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

    def _silent_workers(self, cutoff: float) -> set[str]:
        with self.store.reading() as db:
            silent = db.all("SELECT worker_id FROM {workers} WHERE seen_at <= ?", (cutoff,))
            workers = {row["worker_id"] for row in silent}
            if not self._looked_for_orphans:
                known = {row["worker_id"] for row in db.all("SELECT worker_id FROM {workers}")}
                workers |= self.views.active_workers() - known
                self._looked_for_orphans = True
        workers.discard(self.worker_id)
        return workers

    def _redispatch_waiting(self, now: float) -> None:
        """Send again the queued jobs that have been due for `timeout` with no worker taking
        them, the longest waiting first, at most RESEND_LIMIT per sweep.

        A message can be lost with the worker that had fetched it; another delivery of a
        job that is started by then is skipped, so this only costs a message. It is done
        only while this worker has room, so a backlog does not multiply its messages.
        """
        if not self.has_room():
            return
        since = datetime.fromtimestamp(now - self.timeout, UTC).isoformat()
        for job_id in self.views.longest_waiting(since, RESEND_LIMIT):
            self.dispatcher.dispatch(job_id)

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
        beating = Outage("could not record this worker's heartbeat", "recording heartbeats again")
        sweeping = Outage("could not look for lost workers", "looking for lost workers again")
        while not self._stopping.wait(self.interval):
            with beating:
                self.beat()
            if beating.down:
                continue
            with sweeping:
                self.sweep()


class Outage:
    """Logs a failing loop step once with its traceback, then one short line per
    REMIND_EVERY seconds while it keeps failing, and one line when it works again: a store
    that is down would otherwise fill the log with a traceback every interval."""

    REMIND_EVERY = 60.0

    def __init__(self, failed: str, recovered: str) -> None:
        self.failed, self.recovered = failed, recovered
        self.down = False
        self._since = self._reminded = 0.0
        self._failures = 0

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: object
    ) -> bool:
        now = time.monotonic()
        if kind is None:
            if self.down:
                log.warning(
                    "%s after %.0f s (%d failures)",
                    self.recovered,
                    now - self._since,
                    self._failures,
                )
            self.down = False
            return False
        if not issubclass(kind, Exception):
            return False
        self._failures = self._failures + 1 if self.down else 1
        if not self.down:
            log.exception(self.failed)
            self.down, self._since, self._reminded = True, now, now
        elif now - self._reminded >= self.REMIND_EVERY:
            log.warning("%s: still failing for %.0f s: %s", self.failed, now - self._since, error)
            self._reminded = now
        return True
