"""The Job aggregate: its events, its state machine, and the commands that drive it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    CanSnapshotAggregate,
)

from jobkeeper.domain.errors import StaleRunError, TransitionError
from jobkeeper.domain.lifecycle import (
    ALLOWED_FROM,
    IN_EFFECT_AT,
    LIVE,
    Status,
    allowed_commands,
)

SYSTEM = "system"
"""The `by` of events the runtime records on its own."""

JSON = Any
MAX_LINES_PER_EVENT = 1000
"""Log lines one event may carry; log line ids in the views rely on this bound."""
LogLines = tuple[dict[str, str], ...]


def job_aggregate_id(number: int) -> str:
    """The event stream id of job `number`."""
    return f"job-{number}"


class Job(BaseAggregate[str]):
    """A job of a registered kind, from submission to its end, and every restart."""

    if TYPE_CHECKING:  # set by the events; not constructor arguments
        number: int
        owner: str
        kind: str
        name: str
        params: dict[str, JSON]
        not_before: datetime | None
        deadline: datetime | None
        status: Status
        progress: float
        attempt: int
        checkpoint: JSON
        created_at: datetime
        started_at: datetime | None
        finished_at: datetime | None
        result: JSON
        error: str | None
        run_id: str | None
        worker: str | None
        log_count: int

    def __deepcopy__(self, memo: dict[int, object]) -> Job:
        """A copy to run a command on (the repository hands out one per get).

        A job changes only by its events assigning attributes, never by changing a value in
        place (params, checkpoint and result are JSON values, replaced whole), so the copy
        shares the values and gets a list of pending events of its own. The repository's
        cached job therefore stays as it was when a command on a copy fails.
        """
        copy = object.__new__(Job)
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_pending_events"] = list(self._pending_events)
        return copy

    @dataclass(frozen=True)
    class Snapshot(CanSnapshotAggregate[str]):
        """The job's state after one of its events: a shortcut for loading it, never a
        source of truth (every snapshot can be made again from the events before it).

        The status is kept as its text (the store's JSON would give a plain string back)
        and the aggregate's pending events are left out.
        """

        originator_id: str
        originator_version: int
        timestamp: datetime
        topic: str
        state: dict[str, Any]

        @classmethod
        def take(cls, aggregate: Any) -> Job.Snapshot:
            """A snapshot of `aggregate` as it is now."""
            state = {k: v for k, v in vars(aggregate).items() if k not in SNAPSHOT_SKIPS}
            state["status"] = aggregate.status.value
            return cls(
                originator_id=aggregate.id,
                originator_version=aggregate.version,
                timestamp=cls.create_timestamp(),
                topic=SNAPSHOT_TOPIC,
                state=state,
            )

        def mutate(self, _: Any) -> Any:
            """The job this snapshot holds (a new object)."""
            job = object.__new__(Job)
            job.__dict__.update(self.state)
            job.__dict__.update(
                _id=self.originator_id, _version=self.originator_version, _pending_events=[],
                status=Status(self.state["status"]),
            )  # fmt: skip
            return job

    @dataclass(frozen=True)
    class Event(CanMutateAggregate[str]):
        """Every job event says when (timestamp) and who (by)."""

        originator_id: str
        originator_version: int
        timestamp: datetime
        by: str

    @dataclass(frozen=True)
    class Submitted(Event, CanInitAggregate[str]):
        originator_topic: str
        number: int
        owner: str
        kind: str
        name: str
        params: dict[str, JSON]
        not_before: datetime | None
        deadline: datetime | None

        def apply(self, job: Job) -> None:
            job.number, job.owner, job.kind = self.number, self.owner, self.kind
            job.name, job.params = self.name, self.params
            job.not_before, job.deadline = self.not_before, self.deadline
            job.created_at = self.timestamp
            job.attempt = 1
            job.log_count = 0
            job._begin_attempt()

    @dataclass(frozen=True)
    class Started(Event):
        run_id: str
        worker: str

        def apply(self, job: Job) -> None:
            job.status = Status.RUNNING
            job.run_id, job.worker = self.run_id, self.worker
            if job.started_at is None:
                job.started_at = self.timestamp

    @dataclass(frozen=True)
    class Progressed(Event):
        progress: float
        checkpoint: JSON
        lines: LogLines

        def apply(self, job: Job) -> None:
            job.progress, job.checkpoint = self.progress, self.checkpoint
            job.log_count += len(self.lines)

    @dataclass(frozen=True)
    class StopRequested(Event):
        def apply(self, job: Job) -> None:
            job.status = Status.STOPPING

    @dataclass(frozen=True)
    class Stopped(Event):
        progress: float
        checkpoint: JSON
        lines: LogLines

        def apply(self, job: Job) -> None:
            job.status = Status.STOPPED
            job.progress, job.checkpoint = self.progress, self.checkpoint
            job.log_count += len(self.lines)
            job.run_id = job.worker = None

    @dataclass(frozen=True)
    class Resumed(Event):
        def apply(self, job: Job) -> None:
            job.status = Status.QUEUED

    @dataclass(frozen=True)
    class CancelRequested(Event):
        def apply(self, job: Job) -> None:
            job.status = Status.CANCELLING

    @dataclass(frozen=True)
    class Cancelled(Event):
        lines: LogLines

        def apply(self, job: Job) -> None:
            job._finish(Status.CANCELLED, self.timestamp, self.lines)

    @dataclass(frozen=True)
    class Succeeded(Event):
        result: JSON
        lines: LogLines

        def apply(self, job: Job) -> None:
            job.progress = 1.0
            job.result = self.result
            job._finish(Status.SUCCEEDED, self.timestamp, self.lines)

    @dataclass(frozen=True)
    class Failed(Event):
        error: str
        lines: LogLines

        def apply(self, job: Job) -> None:
            job.error = self.error
            job._finish(Status.FAILED, self.timestamp, self.lines)

    @dataclass(frozen=True)
    class Restarted(Event):
        attempt: int

        def apply(self, job: Job) -> None:
            job.attempt = self.attempt
            job._begin_attempt()

    @dataclass(frozen=True)
    class Requeued(Event):
        """The runtime gave the job back to the queue: its worker left or was lost."""

        reason: str

        def apply(self, job: Job) -> None:
            job.status = Status.QUEUED
            job.run_id = job.worker = None

    # State helpers used only by event bodies: they assign, nothing more.

    def _begin_attempt(self) -> None:
        self.status = Status.QUEUED
        self.progress = 0.0
        self.checkpoint = None
        self.started_at = self.finished_at = None
        self.result = self.error = None
        self.run_id = self.worker = None

    def _finish(self, status: Status, at: datetime, lines: LogLines) -> None:
        self.status = status
        self.finished_at = at
        self.log_count += len(lines)
        self.run_id = self.worker = None

    # Construction.

    @classmethod
    def submit(
        cls,
        *,
        number: int,
        owner: str,
        kind: str,
        name: str,
        params: dict[str, JSON],
        not_before: datetime | None,
        deadline: datetime | None,
        by: str,
        at: datetime,
    ) -> Job:
        """A new queued job with the given number, submitted `at`."""
        return cls._create(
            cls.Submitted,
            id=job_aggregate_id(number),
            number=number,
            owner=owner,
            kind=kind,
            name=name,
            params=params,
            not_before=not_before,
            deadline=deadline,
            by=by,
            timestamp=at,
        )

    # User commands: each returns False when it is already in effect (nothing recorded).
    # Every command is told when it happens (`at`): the domain reads no clock.

    def stop(self, by: str, at: datetime) -> bool:
        """Pause the job, keeping its progress."""
        if not self._admits("stop"):
            return False
        if self.status is Status.QUEUED:
            self.trigger_event(
                self.Stopped, by=by, timestamp=at, progress=self.progress,
                checkpoint=self.checkpoint, lines=(),
            )  # fmt: skip
        else:
            self.trigger_event(self.StopRequested, by=by, timestamp=at)
        return True

    def resume(self, by: str, at: datetime) -> bool:
        """Queue a stopped job again; it continues from its last checkpoint."""
        if not self._admits("resume"):
            return False
        self.trigger_event(self.Resumed, by=by, timestamp=at)
        return True

    def cancel(self, by: str, at: datetime) -> bool:
        """End the job for good (until a restart)."""
        if not self._admits("cancel"):
            return False
        if self.status in LIVE:
            self.trigger_event(self.CancelRequested, by=by, timestamp=at)
        else:
            self.trigger_event(self.Cancelled, by=by, timestamp=at, lines=())
        return True

    def restart(self, by: str, at: datetime) -> bool:
        """Queue the job again as a new attempt, from scratch."""
        if not self._admits("restart"):
            return False
        self.trigger_event(self.Restarted, by=by, timestamp=at, attempt=self.attempt + 1)
        return True

    def _admits(self, command: str) -> bool:
        if self.status in IN_EFFECT_AT[command]:
            return False
        if self.status not in ALLOWED_FROM[command]:
            raise TransitionError(command, self.status.value, allowed_commands(self.status))
        return True

    # Runtime commands: recorded by the worker that holds the run, fenced by its run id.

    def start(self, run_id: str, worker: str, at: datetime) -> None:
        """Mark the job running under a new run; only a queued job starts."""
        if self.status is not Status.QUEUED:
            raise TransitionError("start", self.status.value, allowed_commands(self.status))
        self.trigger_event(self.Started, by=SYSTEM, timestamp=at, run_id=run_id, worker=worker)

    def report(
        self, run_id: str, progress: float, checkpoint: JSON, lines: LogLines, at: datetime
    ) -> None:
        """Record progress, the latest checkpoint and log lines of the current run."""
        self._check_run(run_id)
        _check_lines(lines)
        self.trigger_event(
            self.Progressed, by=SYSTEM, timestamp=at, progress=progress, checkpoint=checkpoint,
            lines=lines,
        )  # fmt: skip

    def complete_stop(
        self, run_id: str, progress: float, checkpoint: JSON, lines: LogLines, at: datetime
    ) -> None:
        """Complete a requested stop with the run's last checkpoint."""
        self._check_run(run_id)
        _check_lines(lines)
        self.trigger_event(
            self.Stopped, by=SYSTEM, timestamp=at, progress=progress, checkpoint=checkpoint,
            lines=lines,
        )  # fmt: skip

    def complete_cancel(self, run_id: str, lines: LogLines, at: datetime) -> None:
        """Complete a requested cancel."""
        self._check_run(run_id)
        _check_lines(lines)
        self.trigger_event(self.Cancelled, by=SYSTEM, timestamp=at, lines=lines)

    def succeed(self, run_id: str, result: JSON, lines: LogLines, at: datetime) -> None:
        """End the run with its result."""
        self._check_run(run_id)
        _check_lines(lines)
        self.trigger_event(self.Succeeded, by=SYSTEM, timestamp=at, result=result, lines=lines)

    def fail(self, run_id: str | None, error: str, lines: LogLines, at: datetime) -> None:
        """End the job as failed; `run_id` None fails a job that never started a run."""
        if run_id is None:
            if self.status is not Status.QUEUED:
                raise TransitionError("fail", self.status.value, allowed_commands(self.status))
        else:
            self._check_run(run_id)
        _check_lines(lines)
        self.trigger_event(self.Failed, by=SYSTEM, timestamp=at, error=error, lines=lines)

    def requeue(self, run_id: str, reason: str, at: datetime) -> None:
        """Give a running job back to the queue (its worker is leaving or was lost)."""
        self._check_run(run_id)
        if self.status is Status.STOPPING:
            self.complete_stop(run_id, self.progress, self.checkpoint, (), at)
        elif self.status is Status.CANCELLING:
            self.complete_cancel(run_id, (), at)
        else:
            self.trigger_event(self.Requeued, by=SYSTEM, timestamp=at, reason=reason)

    def _check_run(self, run_id: str) -> None:
        if self.run_id != run_id or self.status not in LIVE:
            raise StaleRunError(self.number, run_id)


SNAPSHOT_SKIPS = frozenset({"_id", "_version", "_pending_events"})
SNAPSHOT_TOPIC = f"{Job.__module__}:Job"


def _check_lines(lines: LogLines) -> None:
    if len(lines) > MAX_LINES_PER_EVENT:
        raise ValueError(f"at most {MAX_LINES_PER_EVENT} log lines per event, not {len(lines)}")
