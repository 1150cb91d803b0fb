"""Sequential numbers for jobs and users, claimed through the event store's own uniqueness.

A number is claimed by saving the stream it names (`job-17`, `user-number-3`): the save
either inserts or conflicts, so numbers are unique across processes without a counter row.
Each process finds the highest number claimed so far once (galloping, then bisecting), hands
out the next ones, and moves past any that another process took meanwhile.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

Exists = Callable[[int], bool]
"""Whether number N has been claimed (one indexed read of its stream)."""


def _jitter() -> None:
    time.sleep(random.uniform(0, 0.002))  # let racing processes fall out of step


class Numbering:
    """Hands out the next free number of one sequence (thread-safe)."""

    def __init__(self, exists: Exists, jitter: Callable[[], None] = _jitter) -> None:
        self.exists, self.jitter = exists, jitter
        self._lock = threading.Lock()
        self._next: int | None = None

    def take(self) -> int:
        """The next number to try to claim."""
        with self._lock:
            if self._next is None:
                self._next = self.highest() + 1
            number = self._next
            self._next = number + 1
            return number

    def skip_past(self, taken: int) -> None:
        """Another process claimed `taken`: move past every number claimed since."""
        free = taken + 1
        while self.exists(free):
            free += 1
        with self._lock:
            self._next = max(self._next or 0, free)
        self.jitter()

    def give_back(self, unused: int) -> None:
        """A number whose save failed is free again, unless a later one was taken meanwhile."""
        with self._lock:
            if self._next == unused + 1:
                self._next = unused

    def highest(self) -> int:
        """The highest number claimed so far (0 for none), found by galloping then bisecting."""
        low, high = 0, 1
        while self.exists(high):
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            if self.exists(middle):
                low = middle
            else:
                high = middle
        return low
