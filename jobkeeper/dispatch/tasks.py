"""The `run_job` task: "run job N", sent by anyone, consumed by the workers' job hosts.

Delivery is at least once, so launching must be safe to repeat: only a queued job starts.
Sending needs no task function (API processes run no jobs), so the queue builds the message
itself; a worker declares the task with the launcher of its job host.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import dramatiq
import redis
from dramatiq.errors import DramatiqError

from jobkeeper.application.ports import DispatchError

log = logging.getLogger(__name__)

TASK = "run_job"
MAX_DELAY = 3600.0  # seconds; a job due later is looked at again then


class Launched(Protocol):
    """What became of a request to run a job here (the job host's LaunchResult)."""

    @property
    def outcome(self) -> str: ...  # "started", "busy", "later" or "skipped"

    @property
    def retry_after(self) -> float: ...

    @property
    def reason(self) -> str: ...


Launch = Callable[[int], Launched]
"""Starts job N in this worker's host, if it is queued, due and there is room."""


class JobQueue:
    """Sends "run job N" through the broker: the application's Dispatcher."""

    def __init__(self, broker: dramatiq.Broker, queue: str) -> None:
        self.broker, self.queue = broker, queue
        broker.declare_queue(queue)

    def dispatch(self, job_id: int, delay: float = 0.0) -> None:
        """Ask some worker to run job `job_id`, `delay` seconds from now; DispatchError when
        the broker cannot be reached."""
        delay_ms = int(min(delay, MAX_DELAY) * 1000) if delay > 0 else None
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=self.queue, actor_name=TASK, args=(job_id,), kwargs={}, options={}
        )
        try:
            self.broker.enqueue(message, delay=delay_ms)
        except (DramatiqError, redis.RedisError, OSError) as error:
            text = str(error).strip().splitlines()
            reason = text[0] if text else type(error).__name__
            raise DispatchError(f"the broker did not take job {job_id}: {reason}") from error


class RunJobTask:
    """In a worker: the `run_job` task, handing each delivery to the local job host."""

    def __init__(self, broker: dramatiq.Broker, jobs: JobQueue, launch: Launch) -> None:
        self.jobs, self.launch = jobs, launch
        # A launch takes milliseconds, so the default time limit is ample; failures of the
        # store are retried with backoff, and a repeat launch of a started job is a no-op.
        dramatiq.actor(
            broker=broker,
            actor_name=TASK,
            queue_name=jobs.queue,
            max_retries=20,
            min_backoff=200,
            max_backoff=30_000,
        )(self.run_job)

    def run_job(self, job_id: int) -> None:
        """Launch the job here; a busy host or a job not due yet sends it again."""
        result = self.launch(job_id)
        if result.outcome in ("busy", "later"):
            self.jobs.dispatch(job_id, result.retry_after)
        elif result.outcome == "skipped":
            log.debug("job %s not launched: %s", job_id, result.reason)
