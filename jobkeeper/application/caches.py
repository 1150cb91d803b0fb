"""What the application remembers between commands: good tokens, and its own runs' jobs."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import LIVE

U = TypeVar("U")

TOKEN_RECHECK_SECONDS = 1.0
"""How long a token found good is believed before the store is read again."""
MAX_KNOWN_TOKENS = 10_000
MAX_LIVE_JOBS = 10_000


class TokenCache(Generic[U]):
    """Tokens found good, each believed for `ttl` seconds of `clock`.

    A change to a user forgets that user's tokens (`forget`) and bumps a generation: a check
    that began before the change (`generation`) cannot put its stale answer back (`put`).
    """

    def __init__(
        self,
        clock: Callable[[], float],
        ttl: float = TOKEN_RECHECK_SECONDS,
        size: int = MAX_KNOWN_TOKENS,
    ) -> None:
        self.clock, self.ttl, self.size = clock, ttl, size
        self._known: dict[str, tuple[U, str, float]] = {}
        self.generation = 0

    def get(self, token: str) -> U | None:
        """The user `token` was found to belong to, if that is recent enough."""
        known = self._known.get(token)
        if known is not None and known[2] > self.clock():
            return known[0]
        return None

    def put(self, token: str, user: U, user_id: str, generation: int) -> None:
        """Remember that `token` is `user`'s, unless a user changed since `generation`."""
        if generation != self.generation:
            return
        if len(self._known) >= self.size:
            self._known = {}
        self._known[token] = (user, user_id, self.clock() + self.ttl)

    def forget(self, user_ids: Iterable[str]) -> None:
        """Forget the tokens of the users with these aggregate ids (they changed)."""
        gone = set(user_ids)
        self.generation += 1
        self._known = {t: k for t, k in self._known.items() if k[1] not in gone}


class LiveJobs:
    """The jobs this process's runs last saved, so a run's next report needs no read.

    Each entry is a private copy; `get` hands out another copy to change. Jobs that are no
    longer live are dropped; at `size` entries the memory starts again from empty.
    """

    def __init__(self, size: int = MAX_LIVE_JOBS) -> None:
        self.size = size
        self._jobs: dict[int, Job] = {}

    def get(self, number: int) -> Job | None:
        """A copy of job `number` as this process last saved it, if it remembers one."""
        known = self._jobs.get(number)
        return None if known is None else copy.deepcopy(known)

    def remember(self, job: Job) -> None:
        """Keep a copy of `job` as just saved (or drop it, once it is no longer live)."""
        if job.status not in LIVE:
            self._jobs.pop(job.number, None)
            return
        if len(self._jobs) >= self.size and job.number not in self._jobs:
            self._jobs.clear()
        self._jobs[job.number] = copy.deepcopy(job)

    def forget(self, number: int) -> None:
        """Drop job `number` (something else changed it)."""
        self._jobs.pop(number, None)
