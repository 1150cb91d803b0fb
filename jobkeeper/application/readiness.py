"""Readiness: whether this process can do its work now and, when not, what stops it.

Each check answers None when its part is fine, or a sentence saying what is wrong; a check
that raises, or does not answer within the timeout, counts as not ready. The checks run at
once, so a dead server costs one timeout, not one per check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Check = Callable[[], str | None]
OK = "ok"


@dataclass(frozen=True)
class Report:
    """Each check's answer: "ok", or what is wrong."""

    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(answer == OK for answer in self.checks.values())

    def problems(self) -> str:
        """The checks that failed, as one line."""
        failed = (f"{name}: {answer}" for name, answer in self.checks.items() if answer != OK)
        return "; ".join(failed)


class Readiness:
    """Runs the named checks, each bounded by `timeout` seconds."""

    def __init__(self, checks: Mapping[str, Check], timeout: float = 2.0) -> None:
        self.checks, self.timeout = dict(checks), timeout
        self._pool = ThreadPoolExecutor(max(1, len(self.checks)), thread_name_prefix="readiness")

    def report(self) -> Report:
        """Every check's answer now."""
        futures = {name: self._pool.submit(check) for name, check in self.checks.items()}
        return Report({name: self._answer(future) for name, future in futures.items()})

    def _answer(self, future: Any) -> str:
        try:
            problem = future.result(timeout=self.timeout)
        except FutureTimeout:
            return f"no answer within {self.timeout:g} s"
        except Exception as error:
            text = str(error).strip()
            return text.splitlines()[0] if text else type(error).__name__
        return OK if problem is None else str(problem)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class Lag:
    """How far the views are behind the event log: events, and the age of the oldest one
    they lack (0 when they are up to date)."""

    events: int
    seconds: float


def views_lag(
    head: int, applied: int, timestamp_after: Callable[[int], datetime | None], now: datetime
) -> Lag:
    """The lag of views that include notification `applied` when the log ends at `head`;
    `timestamp_after(n)` is the time of the first event after notification n."""
    behind = max(0, head - applied)
    if not behind:
        return Lag(0, 0.0)
    first_missing = timestamp_after(applied)
    seconds = 0.0 if first_missing is None else (now - first_missing).total_seconds()
    return Lag(behind, max(0.0, seconds))


def lag_check(lag: Callable[[], Lag], max_seconds: float) -> Check:
    """A check that the views are at most `max_seconds` behind."""

    def check() -> str | None:
        current = lag()
        if current.seconds <= max_seconds:
            return None
        return (
            f"{current.events} events ({current.seconds:.1f} s) behind the event log, more "
            f"than {max_seconds:g} s: is a projector running?"
        )

    return check
