"""The jobkeeper application: the commands and queries of jobs and users.

Every command has its home here: the HTTP layer, the CLI and the job actors call these
methods, and the ones that queue a job (submit, resume, restart, recovery) dispatch it through
the injected `Dispatcher`. Time comes from the injected `Clock`; the domain reads none.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import IntegrityError, Mapper, Recording, StoredEvent
from eventsourcing.utils import get_topic

from jobkeeper.application import chain
from jobkeeper.application.caches import LiveJobs, TokenCache
from jobkeeper.application.history import (
    EventSource,
    HistoryEntry,
    HistoryPage,
    history_entries,
    history_entry,
    history_page,
    history_stream,
)
from jobkeeper.application.idempotency import InFlight, Keyed, recorded_answer, records
from jobkeeper.application.numbering import Numbering
from jobkeeper.application.ports import (
    Clock,
    Counter,
    Dispatcher,
    DispatchError,
    SystemClock,
    Uncounted,
)
from jobkeeper.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidJobError,
    JobNotFoundError,
    ReplayedError,
    UserExistsError,
    UserNotFoundError,
)
from jobkeeper.domain.idempotency import IdempotencyKey
from jobkeeper.domain.job import JSON, SYSTEM, Job, LogLines, job_aggregate_id
from jobkeeper.domain.lifecycle import LIVE, Status
from jobkeeper.domain.tokens import CONFIGURED, NewToken, configured_token, make_token
from jobkeeper.domain.tokens import digest as token_digest
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

log = logging.getLogger(__name__)
T = TypeVar("T")


def _event_classes(base: type[Any]) -> Iterable[type[Any]]:
    for cls in base.__subclasses__():
        yield cls
        yield from _event_classes(cls)


JOB_TOPICS = tuple(sorted({get_topic(cls) for cls in _event_classes(Job.Event)}))
"""The topics of every job event: what the change feed of event streams follows."""

ParamsValidator = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Checks a kind and its params; returns the params with defaults, or raises InvalidJobError."""
Listener = Callable[[list[Recording[str]]], None]
JobCommand = Callable[[Job, datetime], Any]

log = logging.getLogger(__name__)

ADMIN = "admin"
SNAPSHOT_INTERVAL = 25
"""Events between snapshots of a job: a load replays fewer than this many events."""
CHAINED = (Job.Event, User.Event)
"""The events that are hash-chained: every job's and every user's."""
COMMAND_RETRIES = 20
NUMBER_RETRIES = 200


@dataclass(frozen=True)
class Outcome:
    """What a command did: the job as it now is, whether anything was recorded, and where."""

    job: Job
    changed: bool
    position: int | None
    replayed: bool = False
    """The answer of an earlier request with the same idempotency key, given again."""


class _AnsweredElsewhere(Exception):
    """Another request with the same idempotency key was recorded first."""


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply `events` to `aggregate` (None for a new one): the library's `project_aggregate`
    without its per-event runtime protocol check, which costs more than the event itself
    (bench: a report's CPU time, bench/RESULTS.md). The aggregate keeps its chain's head."""
    for event in events:
        aggregate = event.mutate(aggregate)
        head = vars(event).get(chain.HASH)
        if head is not None:
            vars(aggregate)[chain.HEAD] = head
    return aggregate


def _chain(
    processing_event: ProcessingEvent[str], stored_head: Callable[[str], str]
) -> dict[str, Any]:
    """Link every new job and user event to the one before it in its stream (the mapper
    seals each with its hash as it is recorded); answer each stream's last new event. The
    head before them is the aggregate's in hand, or `stored_head` for an event saved on its
    own."""
    last: dict[str, Any] = {}
    for event in processing_event.events:
        if not isinstance(event, CHAINED):
            continue
        stream = event.originator_id
        before = last.get(stream)
        if before is not None:
            prev: Any = chain.After(before)
        else:
            aggregate = processing_event.aggregates.get(stream)
            prev = stored_head(stream) if aggregate is None else chain.head_of(aggregate)
        vars(event)[chain.PREV] = prev
        last[stream] = event
    return last


def _no_validation(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    return params


class JobKeeper(Application[str]):
    """Every state change of a job or user goes through here and becomes an event."""

    name = "jobkeeper"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        dispatcher: Dispatcher,
        validate_params: ParamsValidator | None = None,
        clock: Clock | None = None,
        snapshot_interval: int = SNAPSHOT_INTERVAL,
        counter: Counter | None = None,
    ) -> None:
        self.snapshot_interval = max(0, snapshot_interval)
        if self.snapshot_interval:
            env = {**(env or {}), "IS_SNAPSHOTTING_ENABLED": "y"}
        super().__init__(env)
        self.counter: Counter = counter or Uncounted()
        self.dispatcher = dispatcher
        self.validate_params = validate_params or _no_validation
        self.clock: Clock = clock or SystemClock()
        self._listeners: list[Listener] = []
        self._job_numbers = Numbering(lambda n: self._exists(job_aggregate_id(n)))
        self._user_numbers = Numbering(lambda n: self._exists(user_number_id(n)))
        self._tokens: TokenCache[User] = TokenCache(self.clock.monotonic)
        self._live = LiveJobs()
        self._in_flight = InFlight()

    # Plumbing.

    def construct_mapper(self) -> Mapper[str]:
        """The library's mapper, sealing every new job and user event with its hash."""
        mapper: Mapper[str] = self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=chain.SealingMapper
        )
        return mapper

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
        heads = _chain(processing_event, self._stored_head)  # sealed as they are recorded
        recordings = self._record(processing_event)
        for aggregate_id, last in heads.items():
            aggregate = processing_event.aggregates.get(aggregate_id)
            if aggregate is not None:
                vars(aggregate)[chain.HEAD] = vars(last)[chain.HASH]
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _take_snapshots(self, processing_event: ProcessingEvent[str]) -> None:
        """Snapshot every job whose new events reached a multiple of the snapshot interval,
        as it now is in hand (the library would replay it from the store to the boundary).

        A snapshot is a shortcut: one that cannot be recorded costs only a longer load later,
        so its failure never fails the save that has already been recorded.
        """
        interval = self.snapshot_interval
        if self.snapshots is None or not interval:
            return
        first: dict[str, int] = {}
        for event in processing_event.events:
            first.setdefault(event.originator_id, event.originator_version)
        for aggregate_id, start in first.items():
            job = processing_event.aggregates.get(aggregate_id)
            if isinstance(job, Job) and job.version // interval > (start - 1) // interval:
                try:
                    self.snapshots.put([Job.Snapshot.take(job)])
                except Exception:
                    log.warning("no snapshot of %s at %d", aggregate_id, job.version, exc_info=True)

    def _stored_head(self, stream: str) -> str:
        """The hash of the stream's latest recorded event (GENESIS when it has none)."""
        latest = self.recorder.select_events(stream, desc=True, limit=1)
        if not latest:
            return chain.GENESIS
        head = vars(self.mapper.to_domain_event(latest[0])).get(chain.HASH, chain.GENESIS)
        return str(head)

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
            self._tokens.forget(changed)
        for listener in self._listeners:
            listener(recordings)

    def position(self) -> int:
        """The id of the newest notification in the event log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def event_time_after(self, position: int) -> datetime | None:
        """When the first event after notification `position` happened (None: none yet)."""
        notifications = self.recorder.select_notifications(start=position + 1, limit=1)
        if not notifications:
            return None
        moment: datetime = self.mapper.to_domain_event(notifications[0]).timestamp  # type: ignore[attr-defined]
        return moment

    def _exists(self, aggregate_id: str) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _dispatch_if_queued(self, outcome: Outcome) -> Outcome:
        """Send a job that a command queued to some worker (when it is due)."""
        job = outcome.job
        if outcome.changed and job.status is Status.QUEUED:
            self._dispatch(job.number, self._seconds_until(job.not_before))
        return outcome

    def _dispatch(self, job_id: int, delay: float) -> None:
        """Dispatch a job whose queueing is recorded. A broker that is down does not undo
        the command: the job waits queued, and the workers' sweep of waiting jobs sends it
        once the broker answers again."""
        try:
            self.dispatcher.dispatch(job_id, delay)
        except DispatchError as error:
            log.warning("%s; it stays queued and will be sent again", error)

    def _seconds_until(self, moment: datetime | None) -> float:
        if moment is None:
            return 0.0
        return max(0.0, (moment - self.clock.now()).total_seconds())

    # Jobs: the users' commands.

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
        """Accept a job of a registered kind under the next free number, and dispatch it;
        with `keyed`, once per idempotency key."""
        return self._counted(
            lambda outcome: self.counter.submitted(kind, outcome),
            keyed,
            lambda: self._submit(
                kind=kind, params=params, owner=owner, by=by, name=name,
                not_before=not_before, deadline=deadline, keyed=keyed,
            ),
        )  # fmt: skip

    def _submit(
        self,
        *,
        kind: str,
        params: dict[str, Any],
        owner: str,
        by: str,
        name: str | None,
        not_before: datetime | None,
        deadline: datetime | None,
        keyed: Keyed | None,
    ) -> Outcome:
        if not self._exists(user_aggregate_id(owner)):
            raise InvalidJobError(f"owner {owner!r} is not a user; create the user first")
        if owner != by and not self.is_admin(by):
            raise ForbiddenError(f"only an admin may submit a job for another user ({owner!r})")
        params = self.validate_params(kind, params)
        not_before, deadline = _aware(not_before, "not_before"), _aware(deadline, "deadline")
        if deadline is not None:
            if deadline <= self.clock.now():
                raise InvalidJobError(f"deadline {deadline.isoformat()} has already passed")
            if not_before is not None and deadline <= not_before:
                raise InvalidJobError("deadline must be later than not_before")
        for _ in range(NUMBER_RETRIES):
            number = self._job_numbers.take()
            job = Job.submit(
                number=number, owner=owner, kind=kind, name=name or kind, params=params,
                not_before=not_before, deadline=deadline, by=by, at=self.clock.now(),
            )  # fmt: skip
            try:
                recordings = self.save(job, *self._answers(keyed, job))
            except IntegrityError:
                if self._answered_elsewhere(keyed):
                    self._job_numbers.give_back(number)
                    raise _AnsweredElsewhere() from None
                self._job_numbers.skip_past(number)  # another process took it
                continue
            except BaseException:
                self._job_numbers.give_back(number)
                raise
            return self._dispatch_if_queued(Outcome(job, True, _last_position(recordings)))
        raise ConflictError("could not allocate a job number; try again")

    def stop(self, job_id: int, by: str, keyed: Keyed | None = None) -> Outcome:
        """Pause a job, keeping its progress; only its owner or an admin may."""
        return self._once(
            keyed,
            lambda: self._command(job_id, lambda job, at: job.stop(by, at), by=by, keyed=keyed),
        )

    def resume(self, job_id: int, by: str, keyed: Keyed | None = None) -> Outcome:
        """Queue a stopped job to continue from its last checkpoint, and dispatch it."""
        return self._once(
            keyed,
            lambda: self._dispatch_if_queued(
                self._command(job_id, lambda job, at: job.resume(by, at), by=by, keyed=keyed)
            ),
        )

    def cancel(self, job_id: int, by: str, keyed: Keyed | None = None) -> Outcome:
        """End a job for good (until a restart)."""
        return self._once(
            keyed,
            lambda: self._command(job_id, lambda job, at: job.cancel(by, at), by=by, keyed=keyed),
        )

    def restart(self, job_id: int, by: str, keyed: Keyed | None = None) -> Outcome:
        """Queue a new attempt of the job, from scratch, and dispatch it."""
        return self._once(
            keyed,
            lambda: self._dispatch_if_queued(
                self._command(job_id, lambda job, at: job.restart(by, at), by=by, keyed=keyed)
            ),
        )

    def command(self, name: str, job_id: int, by: str, keyed: Keyed | None = None) -> Outcome:
        """The user command called `name` (stop, resume, cancel or restart), counted."""
        commands: dict[str, Callable[[int, str, Keyed | None], Outcome]] = {
            "stop": self.stop, "resume": self.resume, "cancel": self.cancel,
            "restart": self.restart,
        }  # fmt: skip
        command = commands[name]
        return self._counted(
            lambda outcome: self.counter.commanded(name, outcome),
            None,
            lambda: command(job_id, by, keyed),
        )

    def _counted(
        self, count: Callable[[str], None], keyed: Keyed | None, run: Callable[[], Outcome]
    ) -> Outcome:
        """Run a user's request (once per key, see `_once`) and count what became of it."""
        try:
            outcome = self._once(keyed, run)
        except DomainError as error:
            count(type(error).__name__)
            raise
        count("replayed" if outcome.replayed else "recorded" if outcome.changed else "unchanged")
        return outcome

    # Jobs: idempotency keys.

    def _once(self, keyed: Keyed | None, run: Callable[[], Outcome]) -> Outcome:
        """Run a user's request, or with an idempotency key, give the answer recorded for
        the key (a retry); the answer, or the error met, is saved with what `run` records."""
        if keyed is None:
            return run()
        with self._in_flight.hold(keyed):
            replay = self._replay(keyed)
            if replay is not None:
                return replay
            try:
                return run()
            except _AnsweredElsewhere:
                return self._replay(keyed) or run()
            except DomainError as error:
                if records(error) and not self._record_error(keyed, error):
                    return self._replay(keyed) or run()
                raise

    def _key(self, keyed: Keyed) -> IdempotencyKey | None:
        try:
            key: object = self.repository.get(keyed.aggregate_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(key, IdempotencyKey)
        return key

    def _replay(self, keyed: Keyed) -> Outcome | None:
        """The recorded answer to the key, if it has one to give again."""
        answer = recorded_answer(self._key(keyed), keyed, self.clock.now())
        if answer is None:
            return None
        if answer.error is not None:
            raise ReplayedError(answer.error, answer.message or answer.error)
        assert answer.job_id is not None
        job = self.get_job(answer.job_id, version=answer.job_version)
        return Outcome(job, False, None, replayed=True)

    def _answered_elsewhere(self, keyed: Keyed | None) -> bool:
        return keyed is not None and recorded_answer(
            self._key(keyed), keyed, self.clock.now()
        ) is not None

    def _answers(self, keyed: Keyed | None, job: Job) -> list[IdempotencyKey]:
        """The key's record of answering with `job` as it will be once saved."""
        if keyed is None:
            return []
        key = IdempotencyKey.answer(
            self._key(keyed), keyed.user, keyed.key, self.clock.now(),
            fingerprint=keyed.fingerprint, job_id=job.number, job_version=job.version,
            error=None, message=None,
        )  # fmt: skip
        return [key]

    def _record_error(self, keyed: Keyed, error: DomainError) -> bool:
        """Save the error as the key's answer; False if another request answered first."""
        name = error.error if isinstance(error, ReplayedError) else type(error).__name__
        key = IdempotencyKey.answer(
            self._key(keyed), keyed.user, keyed.key, self.clock.now(),
            fingerprint=keyed.fingerprint, job_id=None, job_version=None, error=name,
            message=str(error),
        )  # fmt: skip
        try:
            self.save(key)
        except IntegrityError:
            return False
        return True

    # Jobs: queries.

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

    def latest_version(self, job_id: int) -> int | None:
        """The version of the job's newest event (None: no such job), one indexed read."""
        newest = self.recorder.select_events(job_aggregate_id(job_id), desc=True, limit=1)
        return newest[0].originator_version if newest else None

    def check_job_exists(self, job_id: int) -> None:
        """Raise JobNotFoundError unless job `job_id` was ever submitted (one indexed read)."""
        if not self._exists(job_aggregate_id(job_id)):
            raise JobNotFoundError(job_id)

    def history(self, job_id: int) -> list[HistoryEntry]:
        """Every event of the job, oldest first."""
        events = cast(Iterable[Job.Event], self.events.get(job_aggregate_id(job_id)))
        entries = history_entries(events)
        if not entries:
            raise JobNotFoundError(job_id)
        return entries

    def history_page(
        self,
        job_id: int,
        *,
        after: int | None = None,
        limit: int = 100,
        types: frozenset[str] = frozenset(),
        descending: bool = False,
    ) -> HistoryPage:
        """A page of the job's history after `after` (exclusive, in the reading order)."""
        page = history_page(
            self._event_source(job_id), after=after, limit=limit, types=types,
            descending=descending,
        )  # fmt: skip
        if not page.items and page.next_after is None:
            self.check_job_exists(job_id)
        return page

    def history_stream(self, job_id: int) -> Iterator[HistoryEntry]:
        """Every event of the job, oldest first, read from the store a chunk at a time."""
        self.check_job_exists(job_id)
        return history_stream(self._event_source(job_id))

    def _event_source(self, job_id: int) -> EventSource[StoredEvent]:
        originator_id = job_aggregate_id(job_id)

        def read(after: int | None, descending: bool, limit: int) -> Sequence[StoredEvent]:
            if descending:
                below = None if after is None else after - 1
                return self.recorder.select_events(
                    originator_id, lte=below, desc=True, limit=limit
                )
            return self.recorder.select_events(originator_id, gt=after, limit=limit)

        def entry(stored: StoredEvent) -> HistoryEntry:
            return history_entry(cast(Job.Event, self.mapper.to_domain_event(stored)))

        return EventSource(read, _stored_version, _stored_type, entry)

    def job_events_after(self, job_id: int, version: int, limit: int) -> list[Job.Event]:
        """Up to `limit` events of the job after `version`, oldest first."""
        events = self.events.get(job_aggregate_id(job_id), gt=version, limit=limit)
        return cast(list[Job.Event], list(events))

    def job_changes_after(self, position: int, limit: int) -> list[tuple[int, Job.Event]]:
        """Up to `limit` job events recorded after notification `position`, in the log's order,
        each with its notification id (the change feed of open event streams)."""
        notifications = self.recorder.select_notifications(position + 1, limit, topics=JOB_TOPICS)
        return [(n.id, cast(Job.Event, self.mapper.to_domain_event(n))) for n in notifications]

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

    # Jobs: the runtime's commands, fenced by the run id.

    def start(self, job_id: int, run_id: str, worker: str) -> Outcome:
        """Mark a queued job running under `run_id`; fails if another run won."""
        return self._command(job_id, lambda job, at: job.start(run_id, worker, at), retry=False)

    def report(
        self, job_id: int, run_id: str, progress: float, checkpoint: JSON, lines: LogLines
    ) -> Outcome:
        """Record a run's progress, checkpoint and log lines."""
        return self._optimistic_command(
            job_id, lambda job, at: job.report(run_id, progress, checkpoint, lines, at)
        )

    def complete_stop(
        self, job_id: int, run_id: str, progress: float, checkpoint: JSON, lines: LogLines
    ) -> Outcome:
        """Complete a requested stop with the run's last checkpoint."""
        return self._command(
            job_id, lambda job, at: job.complete_stop(run_id, progress, checkpoint, lines, at)
        )

    def complete_cancel(self, job_id: int, run_id: str, lines: LogLines) -> Outcome:
        """Complete a requested cancel."""
        return self._command(job_id, lambda job, at: job.complete_cancel(run_id, lines, at))

    def succeed(self, job_id: int, run_id: str, result: JSON, lines: LogLines) -> Outcome:
        """End a run with its result."""
        return self._command(job_id, lambda job, at: job.succeed(run_id, result, lines, at))

    def fail(self, job_id: int, run_id: str | None, error: str, lines: LogLines) -> Outcome:
        """End a job as failed."""
        return self._command(job_id, lambda job, at: job.fail(run_id, error, lines, at))

    def requeue(self, job_id: int, run_id: str, reason: str) -> Outcome:
        """Give a run's job back to the queue (or finish a pending stop or cancel)."""
        return self._command(job_id, lambda job, at: job.requeue(run_id, reason, at))

    def hand_back(self, job_id: int, run_id: str, reason: str) -> Outcome:
        """Give a run's job back to the queue, and dispatch it to any worker."""
        return self._dispatch_if_queued(self.requeue(job_id, run_id, reason))

    def recover(self, job_ids: Iterable[int]) -> list[int]:
        """Hand back the given jobs if a process that is gone left them live, and dispatch
        every one of them that is queued; returns the ids handed back.

        For the embedded mode, where this process is the only worker: `job_ids` are the
        active jobs of the views, caught up.
        """
        recovered = []
        for job_id in job_ids:
            job = self.get_job(job_id)
            if job.status in LIVE and job.run_id is not None:
                job = self.requeue(job_id, job.run_id, "recovered after the service restarted").job
                recovered.append(job_id)
            if job.status is Status.QUEUED:
                self._dispatch(job_id, self._seconds_until(job.not_before))
        return recovered

    def _command(
        self,
        job_id: int,
        command: JobCommand,
        *,
        retry: bool = True,
        by: str | None = None,
        keyed: Keyed | None = None,
    ) -> Outcome:
        """Apply `command` to the freshest job and save; on a version conflict, try again.

        With `by`, the command is a user's, and only the job's owner or an admin may give it.
        """
        for _ in range(COMMAND_RETRIES if retry else 1):
            job = self.get_job(job_id)
            if by is not None:
                self._check_may_command(job, by)
            command(job, self.clock.now())
            if not job.pending_events and keyed is None:
                return Outcome(job, False, None)
            changed = bool(job.pending_events)
            try:
                recordings = self.save(job, *self._answers(keyed, job))
            except IntegrityError:
                if self._answered_elsewhere(keyed):
                    raise _AnsweredElsewhere() from None
                continue
            if not changed:
                return Outcome(job, False, _last_position(recordings))
            if by is None:  # a run's own command: its next report may start from this job
                self._live.remember(job)
            return Outcome(job, True, _last_position(recordings))
        raise ConflictError(f"job {job_id} changed while the command was applied; try again")

    def _optimistic_command(self, job_id: int, command: JobCommand) -> Outcome:
        """Like `_command`, but first try on the job as this process last saved it, without
        reading the store: a run's own frequent commands. If anything else was recorded
        since, the save conflicts on the version (or the command refuses the old state)
        and the command runs again the usual way, on the freshest job."""
        job = self._live.get(job_id)
        if job is not None:
            try:
                command(job, self.clock.now())
                if not job.pending_events:
                    raise DomainError("nothing to record on the job as last saved")
                recordings = self.save(job)
            except (IntegrityError, DomainError):
                self._live.forget(job_id)
            else:
                self._live.remember(job)
                return Outcome(job, True, _last_position(recordings))
        return self._command(job_id, command)

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
            number = self._user_numbers.take()
            at = self.clock.now()
            user = User.create(
                number=number, name=name, surname=surname, title=title, role=role, by=by, at=at
            )
            try:
                self.save(user, UserNumber.claim(number, name, at))
            except IntegrityError:
                if self._exists(user_aggregate_id(name)):
                    self._user_numbers.give_back(number)
                    raise UserExistsError(name) from None
                self._user_numbers.skip_past(number)
                continue
            except BaseException:
                self._user_numbers.give_back(number)
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

    def ensure_user(self, name: str, role: str = "user") -> User:
        """The user called `name`, created by the system if missing."""
        try:
            return self.get_user(name)
        except UserNotFoundError:
            try:
                return self.create_user(name=name, role=role, by=SYSTEM)
            except UserExistsError:
                return self.get_user(name)

    def ensure_admin(self, chosen_token: str = "") -> NewToken | None:
        """Make sure `admin` exists; returns its first token when this call created it.

        With `chosen_token` (JOBKEEPER_ADMIN_TOKEN), that is the admin's token instead, and
        nothing is returned.
        """
        try:
            admin = self.get_user(ADMIN)
            created = False
        except UserNotFoundError:
            try:
                admin = self.create_user(name=ADMIN, role="admin", by=SYSTEM)
                created = True
            except UserExistsError:  # another process made it meanwhile
                admin = self.get_user(ADMIN)
                created = False
        if chosen_token:
            recorded = admin.tokens.get(CONFIGURED[1])
            if recorded is None or recorded["digest"] != token_digest(chosen_token):
                label = "JOBKEEPER_ADMIN_TOKEN"
                self.issue_token(ADMIN, by=SYSTEM, label=label, chosen=chosen_token)
            return None
        if not created:
            return None
        return self.issue_token(ADMIN, by=SYSTEM, label="first start")

    # Tokens.

    def issue_token(
        self, name: str, *, by: str, label: str = "", chosen: str | None = None
    ) -> NewToken:
        """A new token for user `name`; only its digest is recorded, so it is shown once.

        `chosen` records a token the operator picked (for automation) as the user's token
        `configured`, replacing an earlier one.
        """
        self._check_may_manage_tokens(name, by)
        if chosen is None:
            issued = make_token(name, secrets.token_hex(4), secrets.token_hex(32))
        else:
            issued = configured_token(chosen)
        self._user_command(
            name,
            lambda user, at: user.issue_token(
                token_id=issued.token_id, digest=issued.digest, label=label[:200], by=by, at=at
            ),
        )
        return issued

    def revoke_token(self, name: str, token_id: str, *, by: str) -> bool:
        """Revoke one of a user's tokens; False if it has no such token."""
        self._check_may_manage_tokens(name, by)
        return bool(self._user_command(name, lambda user, at: user.revoke_token(token_id, by, at)))

    def authenticate(self, token: str) -> User | None:
        """The user a bearer token belongs to, or None for a wrong, revoked or malformed token.

        A token found good is believed for a second (TokenCache) without reading the store
        again; a change to its user saved by this process ends that at once, one saved by
        another process (scaled mode, or the CLI) within that second.
        """
        known = self._tokens.get(token)
        if known is not None:
            return known
        generation = self._tokens.generation
        user = self._check_token(token)
        if user is None:
            # While another request brings the same user up to date, the skipping read may
            # hand out the user as it was before its token (concurrent first requests after a
            # start): a "no" is only believed from a read that waited for it.
            user = self._check_token(token, skipping=False)
        if user is not None:
            self._tokens.put(token, user, user.id, generation)
        return user

    def _check_token(self, token: str, *, skipping: bool = True) -> User | None:
        name, token_id = parse_token(token) or CONFIGURED
        if not NAME_PATTERN.fullmatch(name):
            return None
        try:
            # Every request authenticates, mostly as the same few users: read the cached user
            # without a copy, and without queueing behind another request that is bringing
            # the same user up to date (that one sees a revocation at once).
            user: object = self.repository.get(
                user_aggregate_id(name),
                fastforward_skipping=skipping,
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

    def _user_command(self, name: str, command: Callable[[User, datetime], T]) -> T:
        for _ in range(COMMAND_RETRIES):
            user = self.get_user(name)
            result = command(user, self.clock.now())
            if not user.pending_events:
                return result
            try:
                self.save(user)
            except IntegrityError:
                continue
            return result
        raise ConflictError(f"user {name!r} changed while the command was applied; try again")


def _aware(moment: datetime | None, field: str) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidJobError(f"{field} must include a time zone, for example 2030-01-01T00:00:00Z")
    return moment.astimezone(UTC)


def _stored_version(stored: StoredEvent) -> int:
    return stored.originator_version


def _stored_type(stored: StoredEvent) -> str:
    """The event's class name, read from its topic (`module:Job.Progressed`) undecoded."""
    return stored.topic.rsplit(".", 1)[-1]


def _last_position(recordings: Iterable[Recording[str]]) -> int | None:
    ids = [r.notification.id for r in recordings if r.notification.id is not None]
    return max(ids) if ids else None


__all__ = [
    "ADMIN", "SYSTEM", "HistoryEntry", "HistoryPage", "JobKeeper", "Outcome", "ParamsValidator",
]  # fmt: skip
