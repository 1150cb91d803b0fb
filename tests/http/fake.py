"""A fake of the HTTP layer's port: the application in memory, on the real domain aggregates.

`FakeJobs` answers what `jobkeeper.http.port.Jobs` asks with real `Job` and `User` aggregates
kept in dicts (no store, no actors, no broker), and records every call made to it, so that a
test can tell whether a request reached the application. Permissions are not re-implemented:
the application's own tests cover them (tests/application/test_permissions.py).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from eventsourcing.domain import BaseAggregate

from jobkeeper.application.app import Outcome
from jobkeeper.application.history import (
    EventSource,
    HistoryEntry,
    HistoryPage,
    history_entry,
    history_page,
    history_stream,
)
from jobkeeper.application.idempotency import Keyed
from jobkeeper.application.readiness import Readiness
from jobkeeper.domain.errors import (
    InvalidJobError,
    JobNotFoundError,
    UserExistsError,
    UserNotFoundError,
)
from jobkeeper.domain.job import SYSTEM, Job
from jobkeeper.domain.tokens import CONFIGURED, NewToken, configured_token, make_token
from jobkeeper.domain.tokens import matches as token_matches
from jobkeeper.domain.tokens import parse as parse_token
from jobkeeper.domain.user import User, check_name
from jobkeeper.http.port import Jobs
from jobkeeper.kinds.registry import KindRegistry, default_registry
from jobkeeper.observability.metrics import Snapshot
from jobkeeper.projections.store import Row
from jobkeeper.projections.views import Views

METHODS = frozenset(name for name in vars(Jobs) if not name.startswith("_"))
"""The methods of the port, which FakeJobs implements and records."""
CHANGES = frozenset({"submit", "command", "create_user", "issue_token", "revoke_token"})
"""The methods of the port that change state: the ones a refused request must never reach."""
USER_COMMANDS: dict[str, Callable[[Job, str, datetime], bool]] = {
    "stop": Job.stop, "resume": Job.resume, "cancel": Job.cancel, "restart": Job.restart,
}  # fmt: skip


@dataclass(frozen=True)
class Call:
    """One call made to the fake application: the method's name and its arguments by name."""

    method: str
    args: dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


class FakeJobs:
    """The application's use cases (the `Jobs` port) in memory; records every call."""

    def __init__(self, kinds: KindRegistry) -> None:
        self.kinds = kinds
        self.calls: list[Call] = []
        self.failures: dict[str, Exception] = {}
        self.jobs: dict[int, list[Job.Event]] = {}
        self.users: dict[str, User] = {}
        self.user_numbers: dict[int, str] = {}
        self._position = 0

    # What tests ask of the fake.

    def fail(self, method: str, error: Exception) -> None:
        """Make every later call of `method` raise `error` (the call is still recorded)."""
        assert method in METHODS, f"{method} is not a method of the port"
        self.failures[method] = error

    def changes(self, by: str | None = None) -> list[Call]:
        """The recorded calls that change state (those made by `by`, if given)."""
        return [
            call
            for call in self.calls
            if call.method in CHANGES and (by is None or call.args.get("by") == by)
        ]

    def called(self, method: str) -> list[Call]:
        """The recorded calls of `method`."""
        return [call for call in self.calls if call.method == method]

    @contextmanager
    def unrecorded(self) -> Iterator[None]:
        """Calls made inside are forgotten afterwards: a test's own setup."""
        mark = len(self.calls)
        try:
            yield
        finally:
            del self.calls[mark:]

    def _called(self, method: str, **args: Any) -> None:
        self.calls.append(Call(method, args))
        error = self.failures.get(method)
        if error is not None:
            raise error

    def _keep(self, aggregate: BaseAggregate[str], events: list[Job.Event] | None) -> int | None:
        """Take the aggregate's new events (into `events`, for a job); their last position."""
        new = aggregate.collect_events()
        if events is not None:
            events.extend(cast(list[Job.Event], new))
        self._position += len(new)
        return self._position if new else None

    def _events(self, job_id: int) -> list[Job.Event]:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise JobNotFoundError(job_id) from None

    def _user(self, name: str) -> User:
        try:
            return self.users[name]
        except KeyError:
            raise UserNotFoundError(name) from None

    # Jobs.

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
    ) -> Outcome:
        """A new queued job under the next number, its params checked by the real kinds."""
        self._called(
            "submit", kind=kind, params=params, owner=owner, by=by, name=name,
            not_before=not_before, deadline=deadline, keyed=keyed,
        )  # fmt: skip
        if owner not in self.users:
            raise InvalidJobError(f"owner {owner!r} is not a user; create the user first")
        params = self.kinds.validate(kind, params)
        number = len(self.jobs) + 1
        job = Job.submit(
            number=number, owner=owner, kind=kind, name=name or kind, params=params,
            not_before=not_before, deadline=deadline, by=by, at=_now(),
        )  # fmt: skip
        self.jobs[number] = []
        return Outcome(job, True, self._keep(job, self.jobs[number]))

    def command(self, name: str, job_id: int, by: str, keyed: Keyed | None = None) -> Outcome:
        """The user command `name` (stop, resume, cancel or restart) on the job."""
        self._called("command", name=name, job_id=job_id, by=by, keyed=keyed)
        events = self._events(job_id)
        job = _project(events, job_id)
        USER_COMMANDS[name](job, by, _now())
        position = self._keep(job, events)
        return Outcome(job, position is not None, position)

    def get_job(self, job_id: int, version: int | None = None, *, to_change: bool = True) -> Job:
        """The job from its events, now or after event `version`."""
        self._called("get_job", job_id=job_id, version=version, to_change=to_change)
        events = self._events(job_id)
        return _project(events if version is None else events[:version], job_id)

    def latest_version(self, job_id: int) -> int | None:
        """The version of the job's newest event, or None."""
        self._called("latest_version", job_id=job_id)
        events = self.jobs.get(job_id)
        return events[-1].originator_version if events else None

    def check_job_exists(self, job_id: int) -> None:
        """JobNotFoundError unless the job was submitted."""
        self._called("check_job_exists", job_id=job_id)
        self._events(job_id)

    def history_page(
        self,
        job_id: int,
        *,
        after: int | None = None,
        limit: int = 100,
        types: frozenset[str] = frozenset(),
        descending: bool = False,
    ) -> HistoryPage:
        """A page of the job's events, by the application's own paging over the kept events."""
        self._called(
            "history_page", job_id=job_id, after=after, limit=limit, types=types,
            descending=descending,
        )  # fmt: skip
        source = self._source(self._events(job_id))
        return history_page(source, after=after, limit=limit, types=types, descending=descending)

    def history_stream(self, job_id: int) -> Iterator[HistoryEntry]:
        """Every event of the job, oldest first."""
        self._called("history_stream", job_id=job_id)
        return history_stream(self._source(self._events(job_id)))

    @staticmethod
    def _source(events: list[Job.Event]) -> EventSource[Job.Event]:
        def read(after: int | None, descending: bool, limit: int) -> list[Job.Event]:
            if descending:
                newest = len(events) if after is None else max(0, min(after - 1, len(events)))
                return events[:newest][::-1][:limit]
            start = 0 if after is None else min(after, len(events))
            return events[start : start + limit]

        return EventSource(
            read,
            lambda e: e.originator_version,
            lambda e: type(e).__name__,
            history_entry,
        )

    def job_events_after(self, job_id: int, version: int, limit: int) -> list[Job.Event]:
        """Up to `limit` events of the job after `version`."""
        self._called("job_events_after", job_id=job_id, version=version, limit=limit)
        return self.jobs.get(job_id, [])[version : version + limit]

    def position(self) -> int:
        """How many events were kept so far."""
        self._called("position")
        return self._position

    # Users and tokens.

    def authenticate(self, token: str) -> User | None:
        """The user whose recorded token digest `token` matches, or None."""
        self._called("authenticate", token=token)
        name, token_id = parse_token(token) or CONFIGURED
        user = self.users.get(name)
        recorded = user.tokens.get(token_id) if user is not None else None
        if user is None or recorded is None or not token_matches(token, recorded["digest"]):
            return None
        return user

    def is_admin(self, name: str) -> bool:
        """Whether `name` is the runtime or a user with the admin role."""
        self._called("is_admin", name=name)
        user = self.users.get(name)
        return name == SYSTEM or (user is not None and user.role == "admin")

    def create_user(
        self, *, name: str, surname: str = "", title: str = "", role: str = "user", by: str
    ) -> User:
        """A new user under the next number; the domain checks the name and role."""
        self._called("create_user", name=name, surname=surname, title=title, role=role, by=by)
        check_name(name)
        if name in self.users:
            raise UserExistsError(name)
        number = len(self.users) + 1
        user = User.create(
            number=number, name=name, surname=surname, title=title, role=role, by=by, at=_now()
        )
        self._keep(user, None)
        self.users[name], self.user_numbers[number] = user, name
        return user

    def get_user(self, name: str) -> User:
        """The user called `name`."""
        self._called("get_user", name=name)
        return self._user(name)

    def get_user_by_number(self, number: int) -> User:
        """The user with the given number."""
        self._called("get_user_by_number", number=number)
        if number not in self.user_numbers:
            raise UserNotFoundError(str(number))
        return self._user(self.user_numbers[number])

    def check_user_exists(self, name: str) -> None:
        """UserNotFoundError unless the user exists."""
        self._called("check_user_exists", name=name)
        self._user(name)

    def issue_token(
        self, name: str, *, by: str, label: str = "", chosen: str | None = None
    ) -> NewToken:
        """A new token of the user, recorded on the user by its digest."""
        self._called("issue_token", name=name, by=by, label=label, chosen=chosen)
        user = self._user(name)
        if chosen is None:
            issued = make_token(name, secrets.token_hex(4), secrets.token_hex(32))
        else:
            issued = configured_token(chosen)
        user.issue_token(
            token_id=issued.token_id, digest=issued.digest, label=label, by=by, at=_now()
        )
        self._keep(user, None)
        return issued

    def revoke_token(self, name: str, token_id: str, *, by: str) -> bool:
        """Revoke one of the user's tokens; False if it has no such token."""
        self._called("revoke_token", name=name, token_id=token_id, by=by)
        user = self._user(name)
        revoked = user.revoke_token(token_id, by, _now())
        self._keep(user, None)
        return revoked


def _project(events: Sequence[Job.Event], job_id: int) -> Job:
    """The job the events make (a new object each time, like the repository's copies)."""
    job: Any = None
    for event in events:
        job = event.mutate(job)
    if job is None:
        raise JobNotFoundError(job_id)
    assert isinstance(job, Job)
    return job


class FakeViews(Views):
    """The views with nothing in them: every page is empty, every wait is over at once."""

    def __init__(self) -> None:  # no store to read
        pass

    def wait(self, position: int, timeout: float = 2.0) -> bool:
        return True

    def position(self) -> int:
        return 0

    def jobs(self, **filters: Any) -> list[dict[str, Any]]:
        return []

    def stored_jobs(self, columns: Sequence[str], **filters: Any) -> list[tuple[Any, ...]]:
        return []

    def active_workers(self) -> set[str]:
        return set()

    def stored_job(self, columns: Sequence[str], job_id: int) -> tuple[Any, ...] | None:
        return None

    def job(self, job_id: int) -> dict[str, Any] | None:
        return None

    def logs(self, job_id: int | None = None, after: int = 0, limit: int = 100) -> list[Row]:
        return []

    def users(self, after: int = 0, limit: int = 100) -> list[Row]:
        return []


class FakeService:
    """What the HTTP layer needs (the `Service` port) over FakeJobs and FakeViews, with admin.

    `reset` makes it as new, so that one Falcon app (whose OpenAPI document takes a while to
    build) can serve many tests: its resources ask the service for `app` on every request.
    """

    kinds: KindRegistry
    app: FakeJobs
    views: FakeViews
    closing: threading.Event
    readiness: Readiness
    tokens: dict[str, str]
    """Each user's first token, by name."""

    def __init__(self, kinds: KindRegistry | None = None) -> None:
        self.kinds = kinds or default_registry()
        self.reset()

    def metrics_snapshot(self) -> Snapshot:
        """What the views would say: every job of the fake, by status and kind."""
        counts: dict[tuple[str, str], int] = {}
        for number, events in self.app.jobs.items():
            if events:
                job = _project(events, number)
                key = (job.status.value, job.kind)
                counts[key] = counts.get(key, 0) + 1
        jobs = [(status, kind, n) for (status, kind), n in sorted(counts.items())]
        return Snapshot(jobs, 0, 0, [], 0, 0.0)

    def reset(self) -> None:
        """Forget every job, user, token, call and failure; only admin and its token again."""
        self.app = FakeJobs(self.kinds)
        self.views = FakeViews()
        self.closing = threading.Event()
        self.readiness = Readiness({"event store": lambda: None, "views": lambda: None})
        self.tokens = {}
        self.add_user("admin", role="admin")

    def add_user(self, name: str | None = None, role: str = "user") -> str:
        """A user (`userN` unless named) with a first token kept in `tokens`; not recorded."""
        name = name or f"user{len(self.app.users) + 1}"
        with self.app.unrecorded():
            self.app.create_user(name=name, role=role, by=SYSTEM)
            self.tokens[name] = self.app.issue_token(name, by=SYSTEM, label="first token").token
        return name
