"""What the HTTP layer needs from the running service; bootstrap's Runtime provides it."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Protocol

from jobkeeper.domain.application import JobKeeper, Outcome
from jobkeeper.kinds.registry import KindRegistry
from jobkeeper.projections.queries import ReadSide


class Service(Protocol):
    """The domain application, the read side, the kinds, and the commands that dispatch jobs."""

    app: JobKeeper
    read: ReadSide
    kinds: KindRegistry
    closing: threading.Event
    """Set when the service begins to close: open event streams end."""

    def submit(
        self,
        *,
        kind: str,
        params: dict[str, Any],
        owner: str,
        by: str,
        name: str | None = None,
        not_before: datetime | None = None,
        deadline: datetime | None = None,
    ) -> Outcome:
        """Accept a job and dispatch it."""
        ...

    def resume(self, job_id: int, by: str) -> Outcome:
        """Resume a stopped job and dispatch it."""
        ...

    def restart(self, job_id: int, by: str) -> Outcome:
        """Restart a job from scratch and dispatch it."""
        ...
