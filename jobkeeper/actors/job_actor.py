"""JobActor: drives one job's kind step by step and records what happens."""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pykka

from jobkeeper.actors.run_context import RunContext
from jobkeeper.application.app import JobKeeper
from jobkeeper.domain.errors import DomainError, StaleRunError
from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import Status
from jobkeeper.kinds.kind import Halted, JobFailedError, Kind, Step
from jobkeeper.observability import logs
from jobkeeper.observability.metrics import STEP_SECONDS

log = logging.getLogger(__name__)

LINES_PER_FLUSH = 500
LEASE_WAIT = 0.1


@dataclass(frozen=True)
class RunSettings:
    """How often a run records its progress and looks at its job's new events."""

    checkpoint_interval: float = 1.0
    poll_interval: float = 1.0


@dataclass(frozen=True)
class Advance:
    """Take the next step."""


@dataclass(frozen=True)
class Poke:
    """The job has new events (a stop or cancel); look before the next step."""


@dataclass(frozen=True)
class Leave:
    """The worker is shutting down: checkpoint and hand the job back to the queue."""

    reason: str


class JobActor(pykka.ThreadingActor):
    """One live job: steps through its kind, honouring stop and cancel between steps."""

    def __init__(
        self,
        app: JobKeeper,
        job: Job,
        kind: Kind,
        run_id: str,
        settings: RunSettings,
        on_exit: Callable[[int, str], None],
        lease_valid: Callable[[], bool] = lambda: True,
        *,
        worker: str | None = None,
    ) -> None:
        super().__init__()
        self.worker = worker
        self.step_seconds = STEP_SECONDS.labels(kind.name)
        self.lease_valid = lease_valid
        self.app, self.job_id, self.run_id = app, job.number, run_id
        self.kind, self.settings, self.on_exit = kind, settings, on_exit
        self.deadline = job.deadline
        self.context = RunContext(job.params, job.checkpoint, job.number, job.attempt)
        self.halt_reason = ""  # why a halting kind was asked to wind down (deadline, leave)
        self.progress, self.checkpoint = job.progress, job.checkpoint
        self.steps: Generator[Step, None, Any] | None = None
        self.last_flush = self.last_look = time.monotonic()
        self.poked = False
        self.ended = False  # the run's last event is recorded; take no further step

    def on_start(self) -> None:
        # The actor's thread is the run's alone: every line it logs names the job and run.
        logs.bind(job_id=self.job_id, run_id=self.run_id, worker=self.worker)
        self.steps = self.kind.run(self.context)
        self.actor_ref.tell(Advance())

    def on_stop(self) -> None:
        if self.steps is not None:
            self.steps.close()
        self.on_exit(self.job_id, self.run_id)

    def on_failure(self, *args: Any) -> None:
        log.error("job %s: run %s broke; handing the job back", self.job_id, self.run_id)
        try:
            self.app.hand_back(self.job_id, self.run_id, "its run broke on an unexpected error")
        except Exception:
            log.exception("job %s: could not hand back; recovery will", self.job_id)
        self.on_exit(self.job_id, self.run_id)

    def on_receive(self, message: Any) -> Any:
        if self.ended:
            return None
        try:
            if isinstance(message, Advance):
                self._advance()
            elif isinstance(message, Poke):
                self.poked = True
            elif isinstance(message, Leave) and self.kind.halts:
                self.halt_reason = message.reason
                self.context.request("leave")
            elif isinstance(message, Leave):
                self._finish(lambda lines: self._leave(message.reason, lines))
        except StaleRunError:
            log.info("job %s: run %s no longer owns the job; leaving it", self.job_id, self.run_id)
            self._end()
        return None

    def _end(self) -> None:
        self.ended = True
        self.stop()

    def _advance(self) -> None:
        if not self.lease_valid():
            # This worker could not prove it is alive: another may take the job over, so
            # take no step until the lease is back (or the run is fenced off).
            time.sleep(LEASE_WAIT)
            self.actor_ref.tell(Advance())
            return
        if self._looked_and_ended():
            return
        assert self.steps is not None
        started = time.perf_counter()
        try:
            step = next(self.steps)
            self.step_seconds.observe(time.perf_counter() - started)
        except StopIteration as done:
            result = done.value
            if isinstance(result, Halted):
                self._halted(result)
            else:
                self._finish(lambda lines: self._succeed(result, lines))
            return
        except JobFailedError as error:
            message = str(error)
            self._finish(lambda lines: self.app.fail(self.job_id, self.run_id, message, lines))
            return
        except Exception as error:
            self.context.lines.extend(_traceback_lines(error))
            message = str(error) or type(error).__name__
            self._finish(lambda lines: self.app.fail(self.job_id, self.run_id, message, lines))
            return
        try:
            orjson.dumps(step.checkpoint)
        except TypeError as error:
            reason = f"kind {self.kind.name} handed back a checkpoint that is not JSON: {error}"
            self._finish(lambda lines: self.app.fail(self.job_id, self.run_id, reason, lines))
            return
        progress = _progress(step.progress)
        if progress is None:
            reason = (
                f"kind {self.kind.name} reported a progress that is not a number: {step.progress!r}"
            )
            self._finish(lambda lines: self.app.fail(self.job_id, self.run_id, reason, lines))
            return
        self.progress = progress
        self.checkpoint = step.checkpoint
        now = time.monotonic()
        if (
            now - self.last_flush >= self.settings.checkpoint_interval
            or len(self.context.lines) >= LINES_PER_FLUSH
        ):
            status = self._flush()
            if self._ended_by(status):
                return
        self.actor_ref.tell(Advance())

    def _looked_and_ended(self) -> bool:
        """Look at the job's events if poked or due; end the run if a stop or cancel waits."""
        now = time.monotonic()
        if self.deadline is not None and datetime.now(UTC) >= self.deadline:
            reason = f"deadline {self.deadline.isoformat()} passed"
            if self.kind.halts:
                self.halt_reason = self.halt_reason or reason
                self.context.request("deadline")
                return False
            self._finish(lambda lines: self.app.fail(self.job_id, self.run_id, reason, lines))
            return True
        if not self.poked and now - self.last_look < self.settings.poll_interval:
            return False
        self.poked, self.last_look = False, now
        return self._ended_by(self.app.get_job(self.job_id).status)

    def _ended_by(self, status: Status) -> bool:
        if self.kind.halts and status in (Status.STOPPING, Status.CANCELLING):
            self.context.request("stop" if status is Status.STOPPING else "cancel")
            return False  # the kind winds down over its next steps and returns Halted
        if status is Status.STOPPING:
            self._finish(
                lambda lines: self.app.complete_stop(
                    self.job_id, self.run_id, self.progress, self.checkpoint, lines
                )
            )
            return True
        if status is Status.CANCELLING:
            self._finish(lambda lines: self.app.complete_cancel(self.job_id, self.run_id, lines))
            return True
        if status is not Status.RUNNING:
            self._end()  # someone else ended this run
            return True
        return False

    def _halted(self, halted: Halted) -> None:
        """Record how a halting kind's wind-down ends, by what it was asked."""
        job, run, checkpoint = self.job_id, self.run_id, halted.checkpoint
        requested, reason = self.context.requested, self.halt_reason
        if requested == "stop":
            self._finish(
                lambda lines: self.app.complete_stop(job, run, self.progress, checkpoint, lines)
            )
        elif requested == "cancel":
            self._finish(lambda lines: self.app.complete_cancel(job, run, lines))
        elif requested == "leave":
            self.checkpoint = checkpoint
            self._finish(lambda lines: self._leave(reason, lines))
        else:
            reason = reason or f"kind {self.kind.name} halted without being asked to"
            self._finish(lambda lines: self.app.fail(job, run, reason, lines))

    def _flush(self) -> Status:
        """Record progress, checkpoint and buffered lines; returns the job's status.

        The status is the job's latest, so this counts as a look at its events too.
        """
        self.last_flush = self.last_look = time.monotonic()
        outcome = self.app.report(
            self.job_id,
            self.run_id,
            self.progress,
            self.checkpoint,
            self.context.take_lines(LINES_PER_FLUSH),
        )
        return outcome.job.status

    def _finish(self, record: Callable[[tuple[dict[str, str], ...]], Any]) -> None:
        """Flush what does not fit one event, record the run's last event, and stop."""
        while len(self.context.lines) > LINES_PER_FLUSH:
            self._flush()
        try:
            record(self.context.take_lines(LINES_PER_FLUSH))
        except DomainError as error:
            log.info("job %s: could not end run %s: %s", self.job_id, self.run_id, error)
        self._end()

    def _succeed(self, result: Any, lines: tuple[dict[str, str], ...]) -> None:
        try:
            orjson.dumps(result)
        except TypeError as error:
            self.app.fail(self.job_id, self.run_id, f"result is not JSON: {error}", lines)
            return
        self.app.succeed(self.job_id, self.run_id, result, lines)

    def _leave(self, reason: str, lines: tuple[dict[str, str], ...]) -> None:
        self.app.report(self.job_id, self.run_id, self.progress, self.checkpoint, lines)
        self.app.hand_back(self.job_id, self.run_id, reason)


def _progress(reported: Any) -> float | None:
    """The reported progress clamped to 0..1, or None if it is not a finite number."""
    try:
        progress = float(reported)
    except (TypeError, ValueError):
        return None
    return min(max(progress, 0.0), 1.0) if math.isfinite(progress) else None


def _traceback_lines(error: BaseException) -> list[dict[str, str]]:
    at = datetime.now(UTC).isoformat()
    text = "".join(traceback.format_exception(error)).rstrip()
    return [{"at": at, "text": line} for line in text.splitlines()]
