"""`primes`: counts the primes up to `limit` with a segmented sieve, a chunk per step."""

from __future__ import annotations

import math
import time
from collections.abc import Generator

from pydantic import BaseModel, ConfigDict, Field

from jobkeeper.kinds.kind import JSON, Context, Kind, Step


class PrimesParams(BaseModel):
    """Parameters of `primes`."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(ge=0, le=10**10, description="count primes up to and including this")
    chunk: int = Field(default=100_000, ge=1_000, le=10**7, description="numbers per step")
    delay: float = Field(default=0.0, ge=0, le=60, description="seconds to rest after each chunk")


def base_primes(limit: int) -> list[int]:
    """All primes up to `limit`, by the plain sieve of Eratosthenes."""
    if limit < 2:
        return []
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\x00\x00"
    for p in range(2, math.isqrt(limit) + 1):
        if sieve[p]:
            sieve[p * p :: p] = bytes(len(range(p * p, limit + 1, p)))
    return [i for i, flag in enumerate(sieve) if flag]


def count_segment(low: int, high: int, primes: list[int]) -> int:
    """How many primes lie in [low, high), given every prime up to sqrt(high)."""
    if high <= 2:
        return 0
    low = max(low, 2)
    segment = bytearray([1]) * (high - low)
    for p in primes:
        if p * p >= high:
            break
        first = max(p * p, (low + p - 1) // p * p)
        segment[first - low :: p] = bytes(len(range(first, high, p)))
    return segment.count(1)


def run(ctx: Context) -> Generator[Step, None, JSON]:
    """Sieve chunk after chunk; the checkpoint is the next number to look at and the count."""
    limit, chunk = int(ctx.params["limit"]), int(ctx.params["chunk"])
    state = ctx.checkpoint or {"next": 0, "count": 0}
    start, count = int(state["next"]), int(state["count"])
    primes = base_primes(math.isqrt(limit) + 1)
    ctx.log(f"counting primes from {start} to {limit}")
    while start <= limit:
        end = min(start + chunk, limit + 1)
        count += count_segment(start, end, primes)
        start = end
        if ctx.params["delay"]:
            time.sleep(float(ctx.params["delay"]))
        yield Step(progress=start / (limit + 1), checkpoint={"next": start, "count": count})
    ctx.log(f"found {count} primes up to {limit}")
    return {"count": count}


KIND = Kind(name="primes", summary="Counts the primes up to a limit.", params=PrimesParams, run=run)
