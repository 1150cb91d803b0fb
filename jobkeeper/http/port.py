"""What the HTTP layer needs from the running service; bootstrap's Runtime provides it.

`Jobs` lists exactly the application's use cases that the HTTP layer calls, so tests of the
HTTP layer alone can stand a fake in for the application.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from jobkeeper.application.app import Outcome
from jobkeeper.application.audit import Auditor
from jobkeeper.application.history import HistoryEntry, HistoryPage
from jobkeeper.application.idempotency import Keyed
from jobkeeper.application.readiness import Readiness
from jobkeeper.domain.job import Job
from jobkeeper.domain.tokens import NewToken
from jobkeeper.domain.user import User
from jobkeeper.kinds.registry import KindRegistry
from jobkeeper.observability.metrics import Snapshot
from jobkeeper.projections.maintenance import ViewsCheck
from jobkeeper.projections.views import Views


class Jobs(Protocol):
    """The application's commands and queries that the HTTP layer uses (JobKeeper)."""

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
        keyed: Keyed | None = None,
    ) -> Outcome: ...

    def command(
        self, name: str, job_id: int, by: str, keyed: Keyed | None = None
    ) -> Outcome: ...

    def get_job(
        self, job_id: int, version: int | None = None, *, to_change: bool = True
    ) -> Job: ...

    def latest_version(self, job_id: int) -> int | None: ...

    def check_job_exists(self, job_id: int) -> None: ...

    def history_page(
        self,
        job_id: int,
        *,
        after: int | None = None,
        limit: int = 100,
        types: frozenset[str] = frozenset(),
        descending: bool = False,
    ) -> HistoryPage: ...

    def history_stream(self, job_id: int) -> Iterator[HistoryEntry]: ...

    def job_events_after(self, job_id: int, version: int, limit: int) -> list[Job.Event]: ...

    def job_changes_after(self, position: int, limit: int) -> list[tuple[int, Job.Event]]: ...

    def position(self) -> int: ...

    def authenticate(self, token: str) -> User | None: ...

    def is_admin(self, name: str) -> bool: ...

    def create_user(
        self, *, name: str, surname: str = "", title: str = "", role: str = "user", by: str
    ) -> User: ...

    def get_user(self, name: str) -> User: ...

    def get_user_by_number(self, number: int) -> User: ...

    def check_user_exists(self, name: str) -> None: ...

    def issue_token(
        self, name: str, *, by: str, label: str = "", chosen: str | None = None
    ) -> NewToken: ...

    def revoke_token(self, name: str, token_id: str, *, by: str) -> bool: ...


class Service(Protocol):
    """The application, the views, the kinds, and the signal that the service is closing."""

    @property
    def app(self) -> Jobs: ...

    @property
    def views(self) -> Views: ...

    @property
    def kinds(self) -> KindRegistry: ...

    @property
    def readiness(self) -> Readiness:
        """The checks behind /readyz."""
        ...

    def metrics_snapshot(self) -> Snapshot:
        """What the views say now, for the metrics' gauges."""
        ...

    @property
    def audit(self) -> Auditor:
        """The hash chains' checks and anchors."""
        ...

    def verify_views(self) -> ViewsCheck:
        """Every view row compared with a replay of the log."""
        ...

    @property
    def closing(self) -> threading.Event:
        """Set when the service begins to close: open event streams end."""
        ...
