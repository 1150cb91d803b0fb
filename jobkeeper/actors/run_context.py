"""What a running kind sees: its params, its checkpoint, and a log buffer."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

MAX_LINE_LENGTH = 10_000


class RunContext:
    """The `Context` a job actor hands to its kind; log lines wait here until flushed."""

    def __init__(self, params: dict[str, Any], checkpoint: Any) -> None:
        # The kind gets copies it may change as it likes: the job's own values are shared.
        self._params, self._checkpoint = copy.deepcopy(params), copy.deepcopy(checkpoint)
        self.lines: list[dict[str, str]] = []

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
