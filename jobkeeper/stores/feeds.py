"""Following what other processes record, on PostgreSQL (LISTEN/NOTIFY).

In one process the application's listeners see every save at once; across processes these
feeds wake a projector on any new event, and tell a worker which jobs got a stop or cancel.
On SQLite (one process) they do nothing; the pollers behind them still cover any gap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

log = logging.getLogger(__name__)


class Feed:
    """A background thread that calls back on other processes' events; restarts on errors."""

    def __init__(self, app: Application[Any], name: str) -> None:
        self.app, self.name = app, name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def supported(self) -> bool:
        return isinstance(self.app.recorder, PostgresApplicationRecorder)

    def start(self) -> None:
        if self.supported:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._follow()
            except Exception:
                log.exception("%s lost its connection; following again", self.name)
                self._stopping.wait(1.0)

    def _follow(self) -> None:
        raise NotImplementedError


class WakeFeed(Feed):
    """Calls `wake` whenever any process records events."""

    def __init__(self, app: Application[Any], wake: Callable[[], None]) -> None:
        super().__init__(app, "wake-feed")
        self.wake = wake

    def _follow(self) -> None:
        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        with recorder.datastore.get_connection() as connection:
            connection.autocommit = True
            connection.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))
            while not self._stopping.is_set():
                for _ in connection.notifies(timeout=0.5, stop_after=1):
                    self.wake()


class TopicFeed(Feed):
    """Calls `on_event(originator_id)` for each new event of the given topics."""

    def __init__(
        self, app: Application[Any], topics: Sequence[str], on_event: Callable[[str], None]
    ) -> None:
        super().__init__(app, "topic-feed")
        self.topics, self.on_event = tuple(topics), on_event

    def _follow(self) -> None:
        position = self.app.recorder.max_notification_id()
        with self.app.recorder.subscribe(gt=position, topics=self.topics) as subscription:
            def stop_when_stopping() -> None:
                self._stopping.wait()
                subscription.stop()

            threading.Thread(target=stop_when_stopping, daemon=True).start()
            for notification in subscription:
                self.on_event(str(notification.originator_id))
