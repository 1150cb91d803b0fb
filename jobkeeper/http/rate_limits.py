"""Rate limits per user (per client address before authentication), with the `limits` library.

Commands (POST, PUT, PATCH, DELETE) and reads have budgets of their own. Counters live in memory
for one process, or in Redis so that every API process shares one budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RateLimitConfigError(ValueError):
    """Raised when a budget is not like `60/minute` or `off`."""


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and what to tell the client about its budget."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # whole seconds until the window frees a request

    def headers(self) -> dict[str, str]:
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
        self, commands: str, reads: str, storage_url: str = "memory://", namespace: str = "jobkeeper"
    ) -> None:
        self.budgets = {"commands": _budget(commands, "commands"), "reads": _budget(reads, "reads")}
        options: dict[str, str] = {}
        if storage_url.startswith(("redis://", "rediss://")):
            options["key_prefix"] = f"{namespace}-rate"
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url, **options))

    def check(self, method: str, key: str) -> Verdict | None:
        """Count a request of `key`; None when its kind of request has no budget."""
        kind = "commands" if method.upper() in COMMAND_METHODS else "reads"
        budget = self.budgets[kind]
        if budget is None:
            return None
        identity = f"{kind}:{key}"
        allowed = self.limiter.hit(budget, identity)
        stats = self.limiter.get_window_stats(budget, identity)
        # Redis can report a reset time of now; a client should wait at least a second.
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed, budget.amount, max(0, stats.remaining), reset_after)


def _budget(text: str, name: str) -> RateLimitItem | None:
    if text.strip().lower() == "off":
        return None
    try:
        return parse(text)
    except ValueError:
        raise RateLimitConfigError(
            f"rate limit for {name} {text!r} is not like '60/minute', '10/second' or 'off'"
        ) from None
