"""`fail`: runs `after_steps` steps, then raises; for exercising failure paths."""

from __future__ import annotations

import time
from collections.abc import Generator

from pydantic import BaseModel, ConfigDict, Field

from jobkeeper.kinds.kind import JSON, Context, Kind, Step


class KindFailure(RuntimeError):
    """Raised on purpose by the `fail` kind."""


class FailParams(BaseModel):
    """Parameters of `fail`."""

    model_config = ConfigDict(extra="forbid")
    after_steps: int = Field(default=0, ge=0, le=10**6, description="steps before failing")
    message: str = Field(default="failed on purpose", max_length=1000)
    step_seconds: float = Field(default=0.0, ge=0, le=60, description="duration of each step")


def run(ctx: Context) -> Generator[Step, None, JSON]:
    """Take the steps, then raise with the message."""
    steps = int(ctx.params["after_steps"])
    done = int(ctx.checkpoint or 0)
    while done < steps:
        time.sleep(float(ctx.params["step_seconds"]))
        done += 1
        ctx.log(f"step {done} of {steps}")
        yield Step(progress=done / (steps + 1), checkpoint=done)
    raise KindFailure(ctx.params["message"])


KIND = Kind(name="fail", summary="Fails after some steps.", params=FailParams, run=run)
