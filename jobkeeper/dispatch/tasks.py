"""The `run_job` task: delivered at least once, so launching must be safe to repeat."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dramatiq

log = logging.getLogger(__name__)

QUEUE = "jobs"
MAX_DELAY = 3600.0  # seconds; a job due later is looked at again then


class Dispatcher:
    """Sends "run job N" and, in workers, hands each delivery to the local job host."""

    def __init__(self, broker: dramatiq.Broker, queue: str = QUEUE) -> None:
        self.broker = broker
        self.launch: Callable[[int], Any] | None = None
        # A launch takes milliseconds, so the default time limit is ample; failures of the
        # store are retried with backoff, and a repeat launch of a started job is a no-op.
        self.run_job = dramatiq.actor(
            broker=broker,
            actor_name="run_job",
            queue_name=queue,
            max_retries=20,
            min_backoff=200,
            max_backoff=30_000,
        )(self._run_job)

    def dispatch(self, job_id: int, delay: float = 0.0) -> None:
        """Ask some worker to run job `job_id`, `delay` seconds from now."""
        delay_ms = int(min(delay, MAX_DELAY) * 1000) if delay > 0 else None
        self.run_job.send_with_options(args=(job_id,), delay=delay_ms)

    def _run_job(self, job_id: int) -> None:
        if self.launch is None:
            raise RuntimeError("this process has no job host to run jobs")
        result = self.launch(job_id)
        if result.outcome in ("busy", "later"):
            self.dispatch(job_id, result.retry_after)
        elif result.outcome == "skipped":
            log.debug("job %s not launched: %s", job_id, result.reason)
