"""The frozen programs of stopped jobs, kept by the worker that froze them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from jobkeeper.kinds.processes import ProcessGroup

log = logging.getLogger(__name__)


JobState = Callable[[int], "tuple[str, int] | None"]  # job id -> (status, attempt), None if gone


class FrozenGroups:
    """Frozen programs of stopped jobs, kept while this worker lives.

    A resume that runs here takes its program back and continues it. When the job has moved
    on without it (cancelled, restarted, or resumed on another worker) the program is ended:
    `watch` looks at each kept job every `interval` seconds and ends a program whose job is
    neither stopped nor queued for the attempt it belongs to, twice in a row.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[int, ProcessGroup, int]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None

    def keep(self, job_id: int, attempt: int, group: ProcessGroup) -> None:
        with self._lock:
            self._kept[job_id] = (attempt, group, 0)

    def take(self, job_id: int, attempt: int) -> ProcessGroup | None:
        """The frozen program of this job's attempt, no longer kept; None if there is none."""
        with self._lock:
            kept = self._kept.pop(job_id, None)
        if kept is None:
            return None
        if kept[0] != attempt or kept[1].gone():
            kept[1].end()
            return None
        return kept[1]

    def jobs(self) -> list[int]:
        with self._lock:
            return sorted(self._kept)

    def watch(self, state: JobState, interval: float) -> None:
        """Start looking at kept jobs every `interval` seconds, ending programs left behind."""
        if self._watcher is not None:
            return
        self._watcher = threading.Thread(
            target=self._watch, args=(state, interval), name="frozen-programs", daemon=True
        )
        self._watcher.start()

    def _watch(self, state: JobState, interval: float) -> None:
        while not self._closing.wait(interval):
            try:
                self.sweep(state)
            except Exception:
                log.exception("could not look at the jobs of frozen programs")

    def sweep(self, state: JobState) -> list[int]:
        """End the programs whose job moved on (seen twice); returns their job ids."""
        ended = []
        for job_id in self.jobs():
            now = state(job_id)
            with self._lock:
                kept = self._kept.get(job_id)
                if kept is None:
                    continue
                attempt, group, strikes = kept
                current = now is not None and now[1] == attempt and now[0] in ("stopped", "queued")
                strikes = 0 if current else strikes + 1
                if strikes < 2:
                    self._kept[job_id] = (attempt, group, strikes)
                    continue
                del self._kept[job_id]
            log.info("job %s moved on without its frozen program; ending it", job_id)
            group.terminate(group.grace)
            group.end()
            ended.append(job_id)
        return ended

    def close(self) -> None:
        """End every kept program (the worker is shutting down)."""
        self._closing.set()
        with self._lock:
            kept, self._kept = list(self._kept.values()), {}
        for _, group, _ in kept:
            group.end()
