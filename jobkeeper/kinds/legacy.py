"""The older service's five job types, as kinds that run `end_time - start_time` seconds.

The older service only simulated its jobs: each slept for the time between its start and end times.
These kinds do the same in steps, so they report progress, write log lines, and stop, resume
and finish like any other kind. The checkpoint is the number of seconds already done.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from jobkeeper.kinds.kind import JSON, Context, Kind, Run, Step

LEGACY_TYPES = {
    "Product matching": "product-matching",
    "Hourly price comparison": "hourly-price-comparison",
    "Rating - review tracking": "rating-review-tracking",
    "Competition analysis": "competition-analysis",
    "Buybox tracking": "buybox-tracking",
}
"""The older service's job type words, and the kind each one runs as."""
MAX_SECONDS = 366 * 24 * 3600
LOG_EVERY = 0.1  # write a line each tenth of the way


def legacy_moment(value: object) -> datetime:
    """An ISO-8601 date and time, as the older service took them; no zone means UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                "must be an ISO-8601 date and time, like 2030-01-01T10:00:00Z"
            ) from None
    else:
        raise ValueError("must be an ISO-8601 date and time string, like 2030-01-01T10:00:00Z")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


LegacyMoment = Annotated[datetime, BeforeValidator(legacy_moment)]


def duration(start_time: datetime, end_time: datetime) -> float:
    """The seconds from start to end; ValueError when negative or longer than MAX_SECONDS.

    The older service took the `seconds` part of the difference: a negative duration became a job of
    almost a day and whole days were dropped. Here the whole difference counts, or none.
    """
    seconds = (end_time - start_time).total_seconds()
    if seconds < 0:
        raise ValueError(
            f"end_time {end_time.isoformat()} is before start_time {start_time.isoformat()}; "
            "a job runs for end_time - start_time, which cannot be negative"
        )
    if seconds > MAX_SECONDS:
        raise ValueError(f"end_time - start_time is {seconds:g} s; at most {MAX_SECONDS} s")
    return seconds


class LegacyParams(BaseModel):
    """Parameters of the legacy kinds: the job runs from start_time to end_time, in seconds."""

    model_config = ConfigDict(extra="forbid")
    start_time: LegacyMoment = Field(description="ISO-8601; without a zone it is UTC")
    end_time: LegacyMoment = Field(description="not before start_time, at most 366 days after")
    step: float = Field(default=1.0, gt=0, le=3600, description="seconds between checkpoints")

    @model_validator(mode="after")
    def _has_a_duration(self) -> LegacyParams:
        duration(self.start_time, self.end_time)
        return self

    @property
    def seconds(self) -> float:
        """How long the job runs."""
        return duration(self.start_time, self.end_time)


def runner(label: str) -> Run:
    """The steps of the older service job type `label`: wait out its seconds, a step at a time."""

    def run(ctx: Context) -> Generator[Step, None, JSON]:
        params = LegacyParams.model_validate(ctx.params)
        total, step = params.seconds, params.step
        done = float(ctx.checkpoint or 0.0)
        ctx.log(f"{label}: {'resuming' if done else 'starting'} at {done:g} of {total:g} s")
        while done < total:
            chunk = min(step, total - done)
            time.sleep(chunk)
            before, done = done, done + chunk
            if done < total and int(done / total / LOG_EVERY) > int(before / total / LOG_EVERY):
                ctx.log(f"{label}: {done / total:.0%} done")
            yield Step(progress=done / total, checkpoint=done)
        ctx.log(f"{label}: finished after {total:g} s")
        return {"seconds": total}

    return run


KINDS = [
    Kind(
        name=name,
        summary=f"{label} (a job type of the older service): runs end_time - start_time seconds.",
        params=LegacyParams,
        run=runner(label),
    )
    for label, name in LEGACY_TYPES.items()
]
