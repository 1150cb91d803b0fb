"""Stand-ins for the application's ports: a dispatcher that records, a clock that is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class RecordingDispatcher:
    """Remembers every "run job N" it is asked to send, with its delay."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, float]] = []

    def dispatch(self, job_id: int, delay: float = 0.0) -> None:
        self.sent.append((job_id, delay))

    @property
    def job_ids(self) -> list[int]:
        return [job_id for job_id, _ in self.sent]


class SetClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime = datetime(2030, 1, 1, tzinfo=UTC)) -> None:
        self.wall, self.seconds = start, 0.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.seconds += seconds
