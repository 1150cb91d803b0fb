"""The views as their readers see them: queries over the view tables, and waiting for them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jobkeeper.projections import jobs, logs, users
from jobkeeper.projections.store import Row, ViewStore

Waiter = Callable[[int, float], bool]


class Views:
    """Answers list, view, log and user queries from the views."""

    def __init__(self, store: ViewStore, application_name: str, waiter: Waiter | None = None):
        self.store, self.application_name = store, application_name
        self._waiter = waiter

    def wait(self, position: int, timeout: float = 2.0) -> bool:
        """Block until the views include `position` (a notification id)."""
        if self._waiter is not None:
            return self._waiter(position, timeout)
        return self.store.wait_for(self.application_name, position, timeout)

    def position(self) -> int:
        """The last notification id the views include."""
        return self.store.position(self.application_name)

    def jobs(self, **filters: Any) -> list[dict[str, Any]]:
        """Jobs newest first; see `jobs.find` for the filters."""
        with self.store.reading() as db:
            return jobs.find(db, **filters)

    def stored_jobs(self, columns: Sequence[str], **filters: Any) -> list[tuple[Any, ...]]:
        """Jobs newest first, each a tuple of `columns` as stored (JSON and ISO text); see
        `jobs.select`."""
        with self.store.reading() as db:
            return jobs.select(db, columns, **filters)

    def job_counts(self) -> list[tuple[str, str, int]]:
        """How many jobs there are of each status and kind."""
        with self.store.reading() as db:
            return jobs.counts(db)

    def waiting_jobs(self, now: str) -> int:
        """Queued jobs due at `now` (ISO text, UTC)."""
        with self.store.reading() as db:
            return jobs.waiting(db, now)

    def running_by_worker(self) -> list[tuple[str, int]]:
        """How many jobs each worker runs."""
        with self.store.reading() as db:
            return jobs.running_by_worker(db)

    def live_workers(self, seen_since: float) -> int:
        """Workers whose heartbeat (a Unix time) is later than `seen_since`."""
        with self.store.reading() as db:
            row = db.one("SELECT COUNT(*) AS n FROM {workers} WHERE seen_at > ?", (seen_since,))
        return int(row["n"]) if row else 0

    def active_workers(self) -> set[str]:
        """The workers that some live job belongs to."""
        with self.store.reading() as db:
            return jobs.active_workers(db)

    def longest_waiting(self, since: str, limit: int) -> list[int]:
        """Queued jobs due since before `since` (ISO text), the longest waiting first."""
        with self.store.reading() as db:
            return jobs.longest_waiting(db, since, limit)

    def jobs_run_by(self, worker: str) -> list[int]:
        """The jobs the view shows run by `worker`."""
        with self.store.reading() as db:
            return jobs.run_by(db, worker)

    def stored_job(self, columns: Sequence[str], job_id: int) -> tuple[Any, ...] | None:
        """One job's row as stored, a tuple of `columns` (see `jobs.select_one`)."""
        with self.store.reading() as db:
            return jobs.select_one(db, columns, job_id)

    def job(self, job_id: int) -> dict[str, Any] | None:
        """One job's row."""
        with self.store.reading() as db:
            return jobs.get(db, job_id)

    def logs(self, job_id: int | None = None, after: int = 0, limit: int = 100) -> list[Row]:
        """Log lines oldest first, of one job or all."""
        with self.store.reading() as db:
            return logs.find(db, job_id=job_id, after=after, limit=limit)

    def users(self, after: int = 0, limit: int = 100) -> list[Row]:
        """Users in creation order."""
        with self.store.reading() as db:
            return users.find(db, after=after, limit=limit)
