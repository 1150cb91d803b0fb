"""JobHost: the actor that starts job actors, routes pokes to them, limits and reaps them."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pykka
from eventsourcing.persistence import Recording

from jobkeeper.actors.job_actor import JobActor, Leave, Poke, RunSettings
from jobkeeper.application.app import JobKeeper
from jobkeeper.domain.errors import DomainError
from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import Status
from jobkeeper.kinds.registry import KindRegistry

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class LaunchResult:
    """What became of a request to run a job here."""

    outcome: str  # "started", "busy", "later" or "skipped"
    retry_after: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class PokeJob:
    job_id: int


@dataclass(frozen=True)
class Reaped:
    job_id: int
    run_id: str


class JobHost(pykka.ThreadingActor):
    """Hosts the live jobs of one worker: at most `max_running` at once."""

    def __init__(
        self,
        app: JobKeeper,
        kinds: KindRegistry,
        *,
        worker_id: str,
        max_running: int,
        settings: RunSettings,
        lease_valid: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__()
        self.lease_valid = lease_valid
        self.app, self.kinds, self.worker_id = app, kinds, worker_id
        self.max_running, self.settings = max_running, settings
        self.live: dict[int, tuple[str, pykka.ActorRef[Any]]] = {}
        self.leaving = False

    def launch(self, job_id: int) -> LaunchResult:
        """Start a queued job here, unless it is not queued, not due, or there is no room."""
        if self.leaving:
            return LaunchResult("busy", 1.0, "this worker is shutting down")
        if not self.lease_valid():
            return LaunchResult("busy", 1.0, "this worker cannot record its heartbeat")
        job = self.app.get_job(job_id)
        if job.status is not Status.QUEUED:
            return LaunchResult("skipped", reason=f"job is {job.status}")
        now = datetime.now(UTC)
        if job.not_before is not None and job.not_before > now:
            return LaunchResult("later", (job.not_before - now).total_seconds(), "not due yet")
        if job.deadline is not None and job.deadline <= now:
            reason = f"deadline {job.deadline.isoformat()} passed before the job started"
            self.app.fail(job_id, None, reason, ())
            return LaunchResult("skipped", reason=reason)
        if len(self.live) >= self.max_running:
            return LaunchResult("busy", 0.5, f"{self.max_running} jobs already running here")
        try:
            kind = self.kinds.get(job.kind)
        except DomainError as error:
            self.app.fail(job_id, None, str(error), ())
            return LaunchResult("skipped", reason=str(error))
        run_id = uuid.uuid4().hex
        try:
            started = self.app.start(job_id, run_id, self.worker_id).job
        except DomainError as error:
            return LaunchResult("skipped", reason=f"another run won: {error}")
        on_exit = self._on_exit
        ref = JobActor.start(
            self.app, started, kind, run_id, self.settings, on_exit, self.lease_valid,
            worker=self.worker_id,
        )  # fmt: skip
        self.live[job_id] = (run_id, ref)
        return LaunchResult("started")

    def _on_exit(self, job_id: int, run_id: str) -> None:
        self.actor_ref.tell(Reaped(job_id, run_id))

    def live_runs(self) -> set[str]:
        """The runs that have an actor here now."""
        return {run_id for run_id, _ in self.live.values()}

    def has_room(self) -> bool:
        """Whether another job could start here now."""
        return len(self.live) < self.max_running and not self.leaving

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, PokeJob):
            live = self.live.get(message.job_id)
            if live is not None:
                _tell(live[1], Poke())
        elif isinstance(message, Reaped):
            self._reap(message.job_id, message.run_id)

    def _reap(self, job_id: int, run_id: str) -> None:
        live = self.live.get(job_id)
        if live is not None and live[0] == run_id:
            del self.live[job_id]

    def leave_all(self, reason: str, timeout: float) -> list[int]:
        """Checkpoint every live job and hand it back to the queue; returns their ids."""
        self.leaving = True
        refs = [ref for _, ref in self.live.values()]
        for ref in refs:
            _tell(ref, Leave(reason))
        for ref in refs:
            ref.actor_stopped.wait(timeout)
        left = sorted(self.live)
        self.live.clear()
        return left


def _tell(ref: pykka.ActorRef[Any], message: Any) -> None:
    """Tell a job actor something; one that has just ended needs nothing more."""
    with contextlib.suppress(pykka.ActorDeadError):
        ref.tell(message)


def poke(host: pykka.ActorRef[Any], originator_id: str) -> None:
    """Tell the host that job `originator_id` has a new stop or cancel request."""
    if originator_id.startswith("job-"):
        _tell(host, PokeJob(int(originator_id.removeprefix("job-"))))


STOP_TOPICS = (Job.StopRequested, Job.CancelRequested)


def poke_listener(host: pykka.ActorRef[Any]) -> Callable[[list[Recording[str]]], None]:
    """A listener on saves that pokes the host when a job gets a stop or cancel request."""

    def listen(recordings: list[Recording[str]]) -> None:
        for recording in recordings:
            event = recording.domain_event
            if isinstance(event, STOP_TOPICS):
                poke(host, event.originator_id)

    return listen
