"""The jobkeeper application: the commands and queries of jobs and users."""

from __future__ import annotations

import copy
import dataclasses
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError, Recording

from jobkeeper.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidJobError,
    JobNotFoundError,
    UserExistsError,
    UserNotFoundError,
)
from jobkeeper.domain.job import JSON, SYSTEM, Job, LogLines, job_aggregate_id
from jobkeeper.domain.lifecycle import LIVE
from jobkeeper.domain.tokens import CONFIGURED, NewToken, configured_token, new_token
from jobkeeper.domain.tokens import matches as token_matches
from jobkeeper.domain.tokens import parse as parse_token
from jobkeeper.domain.user import (
    NAME_PATTERN,
    User,
    UserNumber,
    check_name,
    user_aggregate_id,
    user_number_id,
)

T = TypeVar("T")
ParamsValidator = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Checks a kind name and its params; returns the params with defaults, or raises InvalidJobError."""
Listener = Callable[[list[Recording[str]]], None]

COMMAND_RETRIES = 20
TOKEN_RECHECK_SECONDS = 1.0
"""How long a token found good is believed before the store is read again."""
MAX_KNOWN_TOKENS = 10_000
MAX_LIVE_JOBS = 10_000
NUMBER_RETRIES = 200
ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "by", "originator_topic"}
)


@dataclass(frozen=True)
class Outcome:
    """What a command did: the job as it now is, whether anything was recorded, and where."""

    job: Job
    changed: bool
    position: int | None


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded event of a job, as plain data."""

    version: int
    type: str
    at: datetime
    by: str
    data: dict[str, JSON]


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply `events` to `aggregate` (None for a new one): the library's `project_aggregate`
    without its per-event runtime protocol check, which costs more than the event itself."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def _no_validation(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    return params


class JobKeeper(Application[str]):
    """Every state change of a job or user goes through here and becomes an event."""

    name = "jobkeeper"

    def __init__(
        self, env: dict[str, str] | None = None, validate_params: ParamsValidator | None = None
    ) -> None:
        super().__init__(env)
        self.validate_params = validate_params or _no_validation
        self._listeners: list[Listener] = []
        self._number_lock = threading.Lock()
        self._next_number: dict[str, int] = {}
        self._known_tokens: dict[str, tuple[User, float]] = {}
        self._token_generation = 0
        self._live_jobs: dict[int, Job] = {}  # runs of this process: as it last saved them
        self.clock: Callable[[], float] = time.monotonic

    # Plumbing.

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[str]]:
        """Record the pending events of `objs` in one transaction (the library's `save`).

        Aggregates are recognised by their class: the library's runtime protocol checks cost
        more than collecting a job's events. Anything else takes the library's own path.
        """
        processing_event: ProcessingEvent[str] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            else:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def add_listener(self, listener: Listener) -> None:
        """Call `listener` with the recordings of every save made by this process."""
        self._listeners.append(listener)

    def _notify(self, recordings: list[Recording[str]]) -> None:
        changed = {
            r.domain_event.originator_id
            for r in recordings
            if isinstance(r.domain_event, User.Event)
        }
        if changed:
            self._forget_tokens(changed)
        for listener in self._listeners:
            listener(recordings)

    def position(self) -> int:
        """The id of the newest notification in the event log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def _exists(self, aggregate_id: str) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _highest_number(self, make_id: Callable[[int], str]) -> int:
        """The highest number claimed so far, found by galloping then bisecting."""
        low, high = 0, 1
        while self._exists(make_id(high)):
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            if self._exists(make_id(middle)):
                low = middle
            else:
                high = middle
        return low

    def _take_number(self, key: str, make_id: Callable[[int], str]) -> int:
        with self._number_lock:
            if key not in self._next_number:
                self._next_number[key] = self._highest_number(make_id) + 1
            number = self._next_number[key]
            self._next_number[key] = number + 1
            return number

    def _skip_number(self, key: str, make_id: Callable[[int], str], taken: int) -> None:
        """Another process took `taken`: move past every number claimed since."""
        free = taken + 1
        while self._exists(make_id(free)):
            free += 1
        with self._number_lock:
            self._next_number[key] = max(self._next_number[key], free)
        time.sleep(random.uniform(0, 0.002))  # let racing processes fall out of step

    def _return_number(self, key: str, unused: int) -> None:
        """Give back a number whose save failed, unless a later one was taken meanwhile."""
        with self._number_lock:
            if self._next_number.get(key) == unused + 1:
                self._next_number[key] = unused

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
    ) -> Outcome:
        """Accept a job of a registered kind; it is queued under the next free number."""
        if not self._exists(user_aggregate_id(owner)):
            raise InvalidJobError(f"owner {owner!r} is not a user; create the user first")
        if owner != by and not self.is_admin(by):
            raise ForbiddenError(f"only an admin may submit a job for another user ({owner!r})")
        params = self.validate_params(kind, params)
        not_before, deadline = _aware(not_before, "not_before"), _aware(deadline, "deadline")
        if deadline is not None:
            if deadline <= datetime.now(UTC):
                raise InvalidJobError(f"deadline {deadline.isoformat()} has already passed")
            if not_before is not None and deadline <= not_before:
                raise InvalidJobError("deadline must be later than not_before")
        for _ in range(NUMBER_RETRIES):
            number = self._take_number("job", job_aggregate_id)
            job = Job.submit(
                number=number,
                owner=owner,
                kind=kind,
                name=name or kind,
                params=params,
                not_before=not_before,
                deadline=deadline,
                by=by,
            )
            try:
                recordings = self.save(job)
            except IntegrityError:
                self._skip_number("job", job_aggregate_id, number)  # another process took it
                continue
            except BaseException:
                self._return_number("job", number)
                raise
            return Outcome(job, True, _last_position(recordings))
        raise ConflictError("could not allocate a job number; try again")

    def get_job(self, job_id: int, version: int | None = None, *, to_change: bool = True) -> Job:
        """The job as it is now, or as it was after event `version`.

        With `to_change=False` the caller only reads it and may be given the cached object
        itself rather than a copy (which it must not change).
        """
        try:
            job: object = self.repository.get(
                job_aggregate_id(job_id),
                version=version,
                deepcopy_from_cache=to_change,
                projector_func=_project,
            )
        except AggregateNotFoundError:
            raise JobNotFoundError(job_id) from None
        assert isinstance(job, Job)
        return job

    def check_job_exists(self, job_id: int) -> None:
        """Raise JobNotFoundError unless job `job_id` was ever submitted (one indexed read)."""
        if not self._exists(job_aggregate_id(job_id)):
            raise JobNotFoundError(job_id)

    def history(self, job_id: int) -> list[HistoryEntry]:
        """Every event of the job, oldest first."""
        entries = [
            HistoryEntry(
                version=event.originator_version,
                type=type(event).__name__,
                at=event.timestamp,
                by=event.by,
                data={
                    f.name: getattr(event, f.name)
                    for f in dataclasses.fields(event)
                    if f.name not in ENVELOPE_FIELDS
                },
            )
            for event in cast(Iterable[Job.Event], self.events.get(job_aggregate_id(job_id)))
        ]
        if not entries:
            raise JobNotFoundError(job_id)
        return entries

    def stop(self, job_id: int, by: str) -> Outcome:
        """Pause a job, keeping its progress; only its owner or an admin may."""
        return self._command(job_id, lambda job: job.stop(by), by=by)

    def resume(self, job_id: int, by: str) -> Outcome:
        """Queue a stopped job to continue from its last checkpoint."""
        return self._command(job_id, lambda job: job.resume(by), by=by)

    def cancel(self, job_id: int, by: str) -> Outcome:
        """End a job for good (until a restart)."""
        return self._command(job_id, lambda job: job.cancel(by), by=by)

    def restart(self, job_id: int, by: str) -> Outcome:
        """Queue a new attempt of the job, from scratch."""
        return self._command(job_id, lambda job: job.restart(by), by=by)

    def is_admin(self, name: str) -> bool:
        """Whether `name` is the runtime or a user with the admin role."""
        if name == SYSTEM:
            return True
        try:
            return self.get_user(name).role == "admin"
        except UserNotFoundError:
            return False

    def _check_may_command(self, job: Job, by: str) -> None:
        if by != job.owner and not self.is_admin(by):
            raise ForbiddenError(
                f"only the job's owner ({job.owner}) or an admin may command job {job.number}"
            )

    def start(self, job_id: int, run_id: str, worker: str) -> Outcome:
        """Mark a queued job running under `run_id`; fails if another run won."""
        return self._command(job_id, lambda job: job.start(run_id, worker), retry=False)

    def report(
        self, job_id: int, run_id: str, progress: float, checkpoint: JSON, lines: LogLines
    ) -> Outcome:
        """Record a run's progress, checkpoint and log lines."""
        return self._optimistic_command(
            job_id, lambda job: job.report(run_id, progress, checkpoint, lines)
        )

    def pause(
        self, job_id: int, run_id: str, progress: float, checkpoint: JSON, lines: LogLines
    ) -> Outcome:
        """Complete a requested stop with the run's last checkpoint."""
        return self._command(job_id, lambda job: job.pause(run_id, progress, checkpoint, lines))

    def complete_cancel(self, job_id: int, run_id: str, lines: LogLines) -> Outcome:
        """Complete a requested cancel."""
        return self._command(job_id, lambda job: job.complete_cancel(run_id, lines))

    def succeed(self, job_id: int, run_id: str, result: JSON, lines: LogLines) -> Outcome:
        """End a run with its result."""
        return self._command(job_id, lambda job: job.succeed(run_id, result, lines))

    def fail(self, job_id: int, run_id: str | None, error: str, lines: LogLines) -> Outcome:
        """End a job as failed."""
        return self._command(job_id, lambda job: job.fail(run_id, error, lines))

    def requeue(self, job_id: int, run_id: str, reason: str) -> Outcome:
        """Give a run's job back to the queue (or finish a pending stop or cancel)."""
        return self._command(job_id, lambda job: job.requeue(run_id, reason))

    def _command(
        self,
        job_id: int,
        command: Callable[[Job], Any],
        *,
        retry: bool = True,
        by: str | None = None,
    ) -> Outcome:
        """Apply `command` to the freshest job and save; on a version conflict, try again.

        With `by`, the command is a user's, and only the job's owner or an admin may give it.
        """
        for _ in range(COMMAND_RETRIES if retry else 1):
            job = self.get_job(job_id)
            if by is not None:
                self._check_may_command(job, by)
            command(job)
            if not job.pending_events:
                return Outcome(job, False, None)
            try:
                recordings = self.save(job)
            except IntegrityError:
                continue
            if by is None:  # a run's own command: its next report may start from this job
                self._remember_live(job)
            return Outcome(job, True, _last_position(recordings))
        raise ConflictError(f"job {job_id} changed while the command was applied; try again")

    def _optimistic_command(self, job_id: int, command: Callable[[Job], Any]) -> Outcome:
        """Like `_command`, but first try on the job as this process last saved it, without
        reading the store: a run's own frequent commands. If anything else was recorded
        since, the save conflicts on the version (or the command refuses the old state)
        and the command runs again the usual way, on the freshest job."""
        known = self._live_jobs.get(job_id)
        if known is not None:
            job = copy.deepcopy(known)
            try:
                command(job)
                if not job.pending_events:
                    raise DomainError("nothing to record on the job as last saved")
                recordings = self.save(job)
            except (IntegrityError, DomainError):
                self._live_jobs.pop(job_id, None)
            else:
                self._remember_live(job)
                return Outcome(job, True, _last_position(recordings))
        return self._command(job_id, command)

    def _remember_live(self, job: Job) -> None:
        if job.status not in LIVE:
            self._live_jobs.pop(job.number, None)
            return
        if len(self._live_jobs) >= MAX_LIVE_JOBS and job.number not in self._live_jobs:
            self._live_jobs.clear()
        self._live_jobs[job.number] = copy.deepcopy(job)

    # Users.

    def create_user(
        self, *, name: str, surname: str = "", title: str = "", role: str = "user", by: str
    ) -> User:
        """Create a user with a unique name and the next free user number; admins only."""
        if not self.is_admin(by):
            raise ForbiddenError("only an admin may create users")
        check_name(name)
        if self._exists(user_aggregate_id(name)):
            raise UserExistsError(name)
        for _ in range(NUMBER_RETRIES):
            number = self._take_number("user", user_number_id)
            user = User.create(
                number=number, name=name, surname=surname, title=title, role=role, by=by
            )
            try:
                self.save(user, UserNumber.claim(number, name))
            except IntegrityError:
                if self._exists(user_aggregate_id(name)):
                    self._return_number("user", number)
                    raise UserExistsError(name) from None
                self._skip_number("user", user_number_id, number)
                continue
            except BaseException:
                self._return_number("user", number)
                raise
            return user
        raise ConflictError("could not allocate a user number; try again")

    def get_user(self, name: str) -> User:
        """The user called `name`."""
        if not NAME_PATTERN.fullmatch(name):
            raise UserNotFoundError(name)
        try:
            user: object = self.repository.get(user_aggregate_id(name), projector_func=_project)
        except AggregateNotFoundError:
            raise UserNotFoundError(name) from None
        assert isinstance(user, User)
        return user

    def check_user_exists(self, name: str) -> None:
        """Raise UserNotFoundError unless a user called `name` exists (one indexed read)."""
        if not NAME_PATTERN.fullmatch(name) or not self._exists(user_aggregate_id(name)):
            raise UserNotFoundError(name)

    def get_user_by_number(self, number: int) -> User:
        """The user with the given number."""
        try:
            claim: object = self.repository.get(user_number_id(number))
        except AggregateNotFoundError:
            raise UserNotFoundError(str(number)) from None
        assert isinstance(claim, UserNumber)
        return self.get_user(claim.name)

    def issue_token(
        self, name: str, *, by: str, label: str = "", chosen: str | None = None
    ) -> NewToken:
        """A new token for user `name`; only its digest is recorded, so it is shown once.

        `chosen` records a token the operator picked (for automation) as the user's token
        `configured`, replacing an earlier one.
        """
        self._check_may_manage_tokens(name, by)
        issued = new_token(name) if chosen is None else configured_token(chosen)
        self._user_command(
            name,
            lambda user: user.issue_token(
                token_id=issued.token_id, digest=issued.digest, label=label[:200], by=by
            ),
        )
        return issued

    def revoke_token(self, name: str, token_id: str, *, by: str) -> bool:
        """Revoke one of a user's tokens; False if it has no such token."""
        self._check_may_manage_tokens(name, by)
        return bool(self._user_command(name, lambda user: user.revoke_token(token_id, by)))

    def authenticate(self, token: str) -> User | None:
        """The user a bearer token belongs to, or None for a wrong, revoked or malformed token.

        A token found good is believed for TOKEN_RECHECK_SECONDS without reading the store
        again; a change to its user saved by this process ends that at once, one saved by
        another process (scaled mode, or the CLI) within TOKEN_RECHECK_SECONDS.
        """
        known = self._known_tokens.get(token)
        if known is not None and known[1] > self.clock():
            return known[0]
        generation = self._token_generation
        user = self._check_token(token)
        if user is not None and generation == self._token_generation:  # no change meanwhile
            if len(self._known_tokens) >= MAX_KNOWN_TOKENS:
                self._known_tokens = {}
            self._known_tokens[token] = (user, self.clock() + TOKEN_RECHECK_SECONDS)
        return user

    def _forget_tokens(self, user_ids: set[str]) -> None:
        self._token_generation += 1
        known = self._known_tokens
        self._known_tokens = {t: k for t, k in known.items() if k[0].id not in user_ids}

    def _check_token(self, token: str) -> User | None:
        name, token_id = parse_token(token) or CONFIGURED
        if not NAME_PATTERN.fullmatch(name):
            return None
        try:
            # Every request authenticates, mostly as the same few users: read the cached user
            # without a copy, and without queueing behind another request that is bringing
            # the same user up to date (that one sees a revocation at once).
            user: object = self.repository.get(
                user_aggregate_id(name),
                fastforward_skipping=True,
                deepcopy_from_cache=False,
                projector_func=_project,
            )
        except AggregateNotFoundError:
            return None
        assert isinstance(user, User)
        recorded = user.tokens.get(token_id)
        if recorded is None or not token_matches(token, recorded["digest"]):
            return None
        return user

    def _check_may_manage_tokens(self, name: str, by: str) -> None:
        if by != name and not self.is_admin(by):
            raise ForbiddenError(f"only {name} or an admin may manage {name}'s tokens")

    def _user_command(self, name: str, command: Callable[[User], T]) -> T:
        for _ in range(COMMAND_RETRIES):
            user = self.get_user(name)
            result = command(user)
            if not user.pending_events:
                return result
            try:
                self.save(user)
            except IntegrityError:
                continue
            return result
        raise ConflictError(f"user {name!r} changed while the command was applied; try again")

    def ensure_user(self, name: str, role: str = "user") -> User:
        """The user called `name`, created by the system if missing."""
        try:
            return self.get_user(name)
        except UserNotFoundError:
            try:
                return self.create_user(name=name, role=role, by=SYSTEM)
            except UserExistsError:
                return self.get_user(name)


def _aware(moment: datetime | None, field: str) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidJobError(f"{field} must include a time zone, for example 2030-01-01T00:00:00Z")
    return moment.astimezone(UTC)


def _last_position(recordings: Iterable[Recording[str]]) -> int | None:
    ids = [r.notification.id for r in recordings if r.notification.id is not None]
    return max(ids) if ids else None


__all__ = ["SYSTEM", "HistoryEntry", "JobKeeper", "Outcome", "ParamsValidator"]
