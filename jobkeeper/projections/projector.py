"""The projection that keeps every view, and the projector that feeds it in batches."""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection

from jobkeeper.projections import jobs, logs, users
from jobkeeper.projections.events import ViewEventReader, from_domain_event
from jobkeeper.projections.store import View, ViewStore

log = logging.getLogger(__name__)

VIEWS: tuple[View, ...] = (jobs, logs, users)  # type: ignore[assignment]
READ_AHEAD = 2
"""Batches a long catch-up reads and decodes ahead of the one it applies."""
READ_AHEAD_TIMEOUT = 300.0
"""Seconds a catch-up waits for the next batch read ahead before it gives up."""
BULK_BATCHES = 5
"""A long catch-up (a rebuild, a start far behind) applies this many ordinary batches' worth
of events at a time. A job whose events fall in two batches has its row written once for
each; larger batches write fewer rows twice and commit less often (bench/RESULTS.md, the
rebuild)."""


class ViewProjection(Projection[ViewStore]):
    """Applies job and user events to the views, with the tracking position."""

    name = "jobkeeper_views"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one mapped domain event (the library's runner calls this)."""
        event = from_domain_event(domain_event)
        self.view.apply_batch([(tracking.notification_id, event)], tracking)

    def process_batch(self, events: Sequence[tuple[int, Any]], tracking: Tracking) -> None:
        """Apply many events, read by `ViewEventReader`, in one transaction."""
        self.view.apply_batch(events, tracking)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a long catch-up (a rebuild, a start far
    behind): its batches build millions of short-lived objects (notifications, events,
    rows) that hold no reference cycles, so reference counting frees every one, while the
    collector would run thousands of young collections and full ones over the whole heap
    (bench/RESULTS.md, "Jobs that run for weeks": the rebuild). The pause is bounded by the
    catch-up; the steady state, batch by batch, leaves the collector alone.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ProcessLock(Protocol):
    """A lock that one live process holds at a time (stores/locks.py)."""

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class Projector:
    """Follows the event log in batches and applies it to the views, in a thread of its own.

    It wakes when this process saves events (`wake`) and otherwise polls every
    `poll_interval` seconds, so events written by other processes arrive too. After a batch
    that caught up it pauses `settle` seconds, so a busy log is applied in batches (one
    commit each) instead of one transaction per event: that much more lag, far less work.

    With a `lock`, only the projector that holds it applies events: the others stand by,
    follow the views' position in the store, and try to take the lock every
    `standby_interval` seconds (it is free as soon as its holder's process ends).
    """

    def __init__(
        self,
        app: Application[str],
        projection: ViewProjection,
        *,
        batch_size: int = 10_000,
        poll_interval: float = 0.2,
        settle: float = 0.01,
        lock: ProcessLock | None = None,
        standby_interval: float = 1.0,
    ) -> None:
        self.app, self.projection = app, projection
        self.lock, self.standby_interval = lock, standby_interval
        self._holding = lock is None
        self._on_batch: Callable[[int], None] | None = None  # a rebuild's progress
        self._checked_at = 0.0
        self.batch_size, self.poll_interval, self.settle = batch_size, poll_interval, settle
        self.bulk_batch_size = batch_size * BULK_BATCHES
        self._reader = ViewEventReader(app.mapper)
        self._position = projection.view.position(app.name)
        self._advanced = threading.Condition()
        self._applying = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def position(self) -> int:
        """The last notification id the views have applied."""
        return self._position

    @property
    def active(self) -> bool:
        """Whether this projector applies events (no lock, or it holds the lock)."""
        return self._holding

    def catch_up(self, standby_timeout: float = 30.0) -> int:
        """Apply every event recorded so far; returns how many were applied. A standby
        applies none: it waits (up to `standby_timeout`) until the active one has."""
        if not self._holding:
            recorded = self.app.recorder.max_notification_id() or 0
            self.projection.view.wait_for(self.app.name, recorded, standby_timeout)
            self._reload_position()
            return 0
        with self._applying:
            notifications = self._read_after(self._position)
            if len(notifications) < self.batch_size:  # not far behind: batch by batch
                applied = self._apply(notifications) if notifications else 0
            else:
                with self.projection.view.bulk_loading(self.app.name), _collector_paused():
                    applied = self._apply_read_ahead(notifications)
        while True:  # whatever was recorded meanwhile
            count = self._apply_next_batch()
            if count == 0:
                return applied
            applied += count

    def _read_after(self, position: int, limit: int | None = None) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(
            start=position + 1, limit=limit or self.batch_size
        )

    def _apply(self, notifications: Sequence[Notification]) -> int:
        """Apply notifications as one batch, with their tracking position."""
        read = self._reader.read
        return self._apply_events([(n.id, read(n)) for n in notifications], notifications[-1].id)

    def _apply_events(self, batch: list[tuple[int, Any]], last: int) -> int:
        self.projection.process_batch(batch, Tracking(self.app.name, last))
        with self._advanced:
            self._position = last
            self._advanced.notify_all()
        if self._on_batch is not None:
            self._on_batch(last)
        return len(batch)

    def _apply_read_ahead(self, first: Sequence[Notification]) -> int:
        """Apply `first` and every batch after it, while a thread reads and decodes the next
        batches: the reads' time in SQLite (which lets go of the GIL) overlaps the writes'."""
        ahead: queue.Queue[tuple[list[tuple[int, Any]], int] | BaseException | None] = (
            queue.Queue(maxsize=READ_AHEAD)
        )
        done = threading.Event()

        def put(item: tuple[list[tuple[int, Any]], int] | BaseException | None) -> bool:
            while not done.is_set():
                try:
                    ahead.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def read_ahead() -> None:
            read, notifications, limit = self._reader.read, first, self.batch_size
            try:
                while notifications:
                    batch = [(n.id, read(n)) for n in notifications]
                    if not put((batch, notifications[-1].id)):
                        return
                    if len(notifications) < limit:
                        break
                    limit = self.bulk_batch_size
                    notifications = self._read_after(notifications[-1].id, limit)
            except BaseException as error:  # handed to the applying thread, which raises it
                put(error)
                return
            put(None)

        reader = threading.Thread(target=read_ahead, name="projector-read-ahead", daemon=True)
        reader.start()
        applied = 0
        try:
            while True:
                item = ahead.get(timeout=READ_AHEAD_TIMEOUT)
                if item is None:
                    return applied
                if isinstance(item, BaseException):
                    raise item
                applied += self._apply_events(*item)
        finally:
            done.set()
            reader.join(READ_AHEAD_TIMEOUT)

    def rebuild(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Empty the views and replay the whole event log into them; returns how many events
        were applied. `on_batch` hears the new position after each batch."""
        with self._applying:
            self.projection.view.drop(self.app.name)
            self._position = 0
        self._on_batch = on_batch
        try:
            return self.catch_up()
        finally:
            self._on_batch = None

    def _apply_next_batch(self) -> int:
        with self._applying:
            notifications = self._read_after(self._position)
            return self._apply(notifications) if notifications else 0

    def _reload_position(self) -> None:
        try:
            with self._applying, self._advanced:
                self._position = self.projection.view.position(self.app.name)
                self._advanced.notify_all()
        except Exception:
            log.exception("could not read the views' position")

    def wake(self, *_: Any) -> None:
        """Tell the projector there is something new to read."""
        self._wake.set()

    def wait(self, position: int, timeout: float = 5.0) -> bool:
        """Block until the views include `position`; False if `timeout` passes first."""
        if not self._holding:  # another process applies them: follow the store
            return self.projection.view.wait_for(self.app.name, position, timeout)
        deadline = time.monotonic() + timeout
        with self._advanced:
            while self._position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._advanced.wait(remaining)
        return True

    def start(self) -> None:
        """Take the lock if there is one and it is free; catch up, then keep following the
        log in a background thread (or stand by)."""
        if self.lock is not None:
            self._holding = self.lock.try_acquire()
            if not self._holding:
                log.info("another projector keeps the views; this one stands by")
        if self._holding:
            self.catch_up()
        self._thread = threading.Thread(target=self._run, name="projector", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following the log."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.lock is not None:
            self.lock.release()
            self._holding = False

    def _keep_lock(self) -> bool:
        """Whether this projector may apply events now: it holds the lock (checked once a
        `standby_interval`), or has just taken it over."""
        assert self.lock is not None
        now = time.monotonic()
        if self._holding:
            if now - self._checked_at >= self.standby_interval:
                self._checked_at = now
                if not self.lock.still_held():
                    self._holding = False
                    log.warning("this projector lost its lock; it stands by")
            return self._holding
        if self.lock.try_acquire():
            self._reload_position()
            self._holding, self._checked_at = True, now
            log.info("this projector took over the views")
        return self._holding

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self.lock is not None and not self._keep_lock():
                self._reload_position()
                self._stopping.wait(self.standby_interval)
                continue
            self._wake.clear()
            try:
                applied = self._apply_next_batch()
            except Exception:
                log.exception("could not apply events to the views; retrying")
                self._stopping.wait(1.0)
                self._reload_position()  # another projector may have applied them
                continue
            if applied == 0:
                self._wake.wait(self.poll_interval)
            elif applied < self.batch_size:
                # Caught up: let a busy log gather a batch rather than commit one per event.
                self._stopping.wait(self.settle)
