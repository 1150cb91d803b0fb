"""One change feed per process, shared by every open event stream.

A thread follows the event store's notification log after a position (one bounded read per
poll, whatever the number of streams or of jobs) and hands each stream what concerns it: a
job's stream gets that job's new events; a list stream gets the jobs view rows of the jobs
that changed, read once per batch by id when the views have caught up with the batch. A
stream never polls the store itself; it reads it only to catch up (on opening, resuming, or
after it fell behind the feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jobkeeper.domain.job import Job
from jobkeeper.http.port import Service

log = logging.getLogger(__name__)

POLL = 0.1  # seconds between reads of the log when nothing new came
BATCH = 500  # notifications per read
INBOX = 1000  # batches a stream may fall behind by before it must catch up from the store
RETRY = 1.0  # seconds before reading again after the store failed


@dataclass(frozen=True)
class RowChange:
    """A job whose row changed: the position of its last change, its row as the view holds
    it (in the feed's columns) and whether any of the changes may have moved its status."""

    position: int
    row: tuple[Any, ...]
    status_changed: bool
    data: bytes  # the row as the stream's `data`, rendered once for every stream


class Inbox:
    """Where the feed leaves batches for one stream, woken on that stream's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.batches: deque[list[Any]] = deque()
        self.fell_behind = False  # batches were dropped: catch up from the store
        self._waiter: asyncio.Future[None] | None = None

    def deliver(self, batch: list[Any]) -> None:
        """Leave `batch` (on the inbox's loop); an empty one only wakes the stream."""
        if len(self.batches) >= INBOX:
            self.batches.clear()
            self.fell_behind = True
        elif batch:
            self.batches.append(batch)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Wait until a batch comes (or the feed wakes the stream), `timeout` seconds at most.

        One future and one timer, no task: a thousand idle streams cost nothing between
        their keep-alives."""
        if self.batches or self.fell_behind:
            return
        waiter = self.loop.create_future()
        self._waiter = waiter
        timer = self.loop.call_later(timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def take(self) -> list[Any]:
        """Everything left so far, oldest first (then the inbox is empty)."""
        items = [item for batch in self.batches for item in batch]
        self.batches.clear()
        return items


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def hand(deliveries: list[tuple[Inbox, list[Any]]]) -> None:
    """Deliver each batch to its inbox: one wake-up per event loop, however many inboxes."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Inbox, list[Any]]]] = {}
    for inbox, batch in deliveries:
        by_loop.setdefault(inbox.loop, []).append((inbox, batch))
    for loop, some in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop closed: its streams are gone
            loop.call_soon_threadsafe(_deliver_all, some)


def _deliver_all(deliveries: list[tuple[Inbox, list[Any]]]) -> None:
    for inbox, batch in deliveries:
        inbox.deliver(batch)


class Feed:
    """Follows the notification log for the open streams of one process."""

    def __init__(
        self,
        service: Service,
        columns: Sequence[str],
        render: Callable[[tuple[Any, ...]], bytes],
        *,
        poll: float = POLL,
        batch: int = BATCH,
    ) -> None:
        self.service, self.columns, self.render = service, tuple(columns), render
        self.poll, self.batch = poll, batch
        self.position = 0  # the last notification handed to job streams
        self.rows_position = 0  # the last notification whose rows were handed to list streams
        self._jobs: dict[int, set[Inbox]] = {}
        self._lists: set[Inbox] = set()
        self._pending: list[tuple[int, int, bool]] = []  # waiting for the views
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start following from the log's end, once (a blocking read: not on an event loop)."""
        with self._lock:
            if self._thread is not None:
                return
            self.position = self.rows_position = self.service.app.position()
            self._thread = threading.Thread(target=self._run, name="stream-feed", daemon=True)
            self._thread.start()

    def follow_job(self, job_id: int, inbox: Inbox) -> None:
        """Hand `inbox` the events of job `job_id` from now on."""
        with self._lock:
            self._jobs.setdefault(job_id, set()).add(inbox)

    def follow_rows(self, inbox: Inbox) -> int:
        """Hand `inbox` the changed rows (lists of RowChange) from now on; the position
        they start after."""
        with self._lock:
            self._lists.add(inbox)
            return self.rows_position

    def leave(self, inbox: Inbox, job_id: int | None = None) -> None:
        """Hand `inbox` nothing more."""
        with self._lock:
            self._lists.discard(inbox)
            if job_id is not None:
                followers = self._jobs.get(job_id)
                if followers is not None:
                    followers.discard(inbox)
                    if not followers:
                        del self._jobs[job_id]

    def streams(self) -> int:
        """How many streams follow the feed."""
        with self._lock:
            return len(self._lists) + sum(len(inboxes) for inboxes in self._jobs.values())

    def _run(self) -> None:
        closing = self.service.closing
        while not closing.is_set():
            try:
                busy = self._step()
            except Exception:
                log.exception("the stream feed could not read the store; retrying")
                closing.wait(RETRY)
                continue
            if not busy:
                closing.wait(self.poll)
        with self._lock:  # the open streams see the service closing and end
            everyone = [*self._lists, *(i for inboxes in self._jobs.values() for i in inboxes)]
        hand([(inbox, []) for inbox in everyone])

    def _step(self) -> bool:
        changes = self.service.app.job_changes_after(self.position, self.batch)
        with self._lock:
            if changes:
                self._hand_events(changes)
            if not self._lists:
                self._pending.clear()
                self.rows_position = self.position
                return len(changes) == self.batch
        if self._pending:
            self._hand_rows()
        return len(changes) == self.batch

    def _hand_events(self, changes: list[tuple[int, Job.Event]]) -> None:
        by_job: dict[int, list[Job.Event]] = {}
        for position, event in changes:
            number = job_number(event)
            if number in self._jobs:
                by_job.setdefault(number, []).append(event)
            if self._lists:
                self._pending.append((position, number, moves_status(event)))
        hand([(inbox, events) for number, events in by_job.items() for inbox in self._jobs[number]])
        self.position = changes[-1][0]

    def _hand_rows(self) -> None:
        seen = self.service.views.position()
        ready = [change for change in self._pending if change[0] <= seen]
        if not ready:
            return
        last: dict[int, tuple[int, bool]] = {}
        for position, number, status_changed in ready:
            before = last.get(number, (0, False))
            last[number] = (position, before[1] or status_changed)
        rows = self.service.views.stored_jobs_by_id(self.columns, sorted(last))
        out = self.changes(rows, last)
        with self._lock:
            del self._pending[: len(ready)]
            self.rows_position = ready[-1][0]
            hand([(inbox, out) for inbox in self._lists])

    def changes(
        self, rows: Sequence[tuple[Any, ...]], last: dict[int, tuple[int, bool]]
    ) -> list[RowChange]:
        """The changes of `rows` (first column the job's id), in the order of their last
        change (`last`: each job's last position and whether its status may have moved)."""
        out = [RowChange(last[row[0]][0], row, last[row[0]][1], self.render(row)) for row in rows]
        return sorted(out, key=lambda change: change.position)


def moves_status(event: Job.Event) -> bool:
    """Whether the event may take a job out of a status it was in (not progress alone, nor
    the submission that gives it its first)."""
    return not isinstance(event, Job.Progressed | Job.Submitted)


def job_number(event: Job.Event) -> int:
    """The number of the job an event belongs to."""
    return int(str(event.originator_id).removeprefix("job-"))
