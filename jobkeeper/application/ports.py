"""What the application is given from outside: a way to dispatch jobs, a clock, and a
place to count the users' requests (the metrics, in bootstrap)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Protocol

log = logging.getLogger(__name__)


class DispatchError(RuntimeError):
    """Raised by a Dispatcher when the broker does not take the message (it is unreachable);
    the job stays queued, and the sweep of waiting jobs sends it again later."""


class Dispatcher(Protocol):
    """Sends "run job N" to some worker, `delay` seconds from now (the broker, in bootstrap);
    raises DispatchError when the broker cannot take it."""

    def dispatch(self, job_id: int, delay: float = 0.0) -> None: ...


class Clock(Protocol):
    """Wall-clock time for events, and a monotonic clock for caches."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class Counter(Protocol):
    """Counts what became of the users' submits and commands: "recorded", "unchanged",
    "replayed", or the error's name."""

    def submitted(self, kind: str, outcome: str) -> None: ...

    def commanded(self, command: str, outcome: str) -> None: ...


class Uncounted:
    """Counts nothing (tests and operators' commands)."""

    def submitted(self, kind: str, outcome: str) -> None:
        pass

    def commanded(self, command: str, outcome: str) -> None:
        pass


class SystemClock:
    """The machine's clocks: UTC wall time, and `time.monotonic`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class Undispatched:
    """For processes that queue no jobs (operators' commands on the store): a job queued
    here anyway waits for the next recovery or the sweep of waiting jobs, which dispatch it."""

    def dispatch(self, job_id: int, delay: float = 0.0) -> None:
        log.warning("job %s is queued with no dispatcher here; a sweep will send it", job_id)
