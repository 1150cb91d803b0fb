"""What a running kind sees: its params, its checkpoint, and a log buffer."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

MAX_LINE_LENGTH = 10_000
STRONG = ("cancel", "deadline")


class RunContext:
    """The `Context` a job actor hands to its kind; log lines wait here until flushed."""

    def __init__(
        self, params: dict[str, Any], checkpoint: Any, job_id: int = 0, attempt: int = 1
    ) -> None:
        # The kind gets copies it may change as it likes: the job's own values are shared.
        self._params, self._checkpoint = copy.deepcopy(params), copy.deepcopy(checkpoint)
        self._job_id, self._attempt = job_id, attempt
        self._requested: str | None = None
        self.lines: list[dict[str, str]] = []

    @property
    def job_id(self) -> int:
        return self._job_id

    @property
    def attempt(self) -> int:
        return self._attempt

    @property
    def requested(self) -> str | None:
        return self._requested

    def request(self, what: str) -> None:
        """Ask a halting kind to wind down; a cancel or deadline outranks a stop or shutdown."""
        if self._requested not in STRONG:
            self._requested = what

    @property
    def params(self) -> dict[str, Any]:
        return self._params

    @property
    def checkpoint(self) -> Any:
        return self._checkpoint

    def log(self, text: str) -> None:
        """Add a log line, stamped now."""
        self.lines.append(
            {"at": datetime.now(UTC).isoformat(), "text": str(text)[:MAX_LINE_LENGTH]}
        )

    def take_lines(self, limit: int) -> tuple[dict[str, str], ...]:
        """Remove and return up to `limit` buffered lines, oldest first."""
        taken, self.lines = self.lines[:limit], self.lines[limit:]
        return tuple(taken)
