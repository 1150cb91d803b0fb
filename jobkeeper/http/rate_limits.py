"""Rate limits per user (per client address before authentication), with the `limits` library.

Commands (POST, PUT, PATCH, DELETE, and the older service's GETs that change a job) and reads have
budgets of their own. Counters live in memory for one process, or in Redis so that every API
process shares one budget. When Redis cannot be reached the request goes on (logged): the
limits protect the service, they must not take it down.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REDIS_TIMEOUT = 2.0  # seconds to connect or answer; a request never waits longer on its counter
WARN_EVERY = 30.0  # seconds between two warnings about unreachable counters


class RateLimitConfigError(ValueError):
    """Raised when a budget is not like `60/minute` or `off`."""


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and what to tell the client about its budget."""

    allowed: bool
    kind: str  # "commands" or "reads"
    budget: str  # like "60 per 1 minute"
    limit: int
    remaining: int
    reset_after: int  # whole seconds until the window frees a request

    def headers(self) -> dict[str, str]:
        """RateLimit-Limit, -Remaining and -Reset; Retry-After too when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_after)
        return headers


class RateLimits:
    """The command and read budgets, counted per key (a user, or a client address)."""

    def __init__(
        self,
        commands: str,
        reads: str,
        storage_url: str = "memory://",
        namespace: str = "jobkeeper",
    ) -> None:
        self.budgets = {
            "commands": parse_budget(commands, "commands"),
            "reads": parse_budget(reads, "reads"),
        }
        options: dict[str, float | str] = {}
        if storage_url.startswith(("redis://", "rediss://", "redis+unix://")):
            # Beside the broker's keys, under the same namespace, so a test run removes both.
            options.update(key_prefix=f"{namespace}:rate", socket_timeout=REDIS_TIMEOUT,
                           socket_connect_timeout=REDIS_TIMEOUT)  # fmt: skip
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url, **options))
        self._warned = 0.0

    def check(self, method: str, key: str, *, writes: bool = False) -> Verdict | None:
        """Count a request of `key`; None when its kind of request has no budget (or the
        counters cannot be reached). `writes` counts a GET that changes state as a command."""
        kind = "commands" if writes or method.upper() in COMMAND_METHODS else "reads"
        budget = self.budgets[kind]
        if budget is None:
            return None
        identity = f"{kind}:{key}"
        try:
            allowed = self.limiter.hit(budget, identity)
            stats = self.limiter.get_window_stats(budget, identity)
        except Exception as error:
            self._warn(error)
            return None
        # Redis can report a reset time of now; a client should wait at least a second.
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        reset_after = min(reset_after, budget.get_expiry())
        remaining = max(0, stats.remaining)
        return Verdict(allowed, kind, str(budget), budget.amount, remaining, reset_after)

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY:
            self._warned = now
            log.warning("rate-limit counters unreachable, requests not limited: %s", error)


def parse_budget(text: str, name: str) -> RateLimitItem | None:
    """The budget `text` names (like `60/minute`), or None for `off`; RateLimitConfigError else."""
    if text.strip().lower() == "off":
        return None
    problem = f"the {name} budget {text!r} is not like '60/minute', '10/second' or 'off'"
    try:
        items = list(parse_many(text))
    except ValueError:
        raise RateLimitConfigError(problem) from None
    if len(items) != 1:
        raise RateLimitConfigError(f"{problem}: give one budget")
    if items[0].amount < 1:
        raise RateLimitConfigError(f"{problem}: allow at least one request (or say 'off')")
    return items[0]
