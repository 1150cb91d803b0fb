"""`sleep`: waits `seconds` in steps of `step` seconds; the older service's simulated job."""

from __future__ import annotations

import time
from collections.abc import Generator

from pydantic import BaseModel, ConfigDict, Field

from jobkeeper.kinds.kind import JSON, Context, Kind, Step


class SleepParams(BaseModel):
    """Parameters of `sleep`."""

    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(gt=0, le=366 * 24 * 3600, description="how long the job runs")
    step: float = Field(default=1.0, gt=0, le=3600, description="seconds between checkpoints")


def run(ctx: Context) -> Generator[Step, None, JSON]:
    """Sleep step by step; the checkpoint is the time already slept."""
    total, step = float(ctx.params["seconds"]), float(ctx.params["step"])
    done = float(ctx.checkpoint or 0.0)
    ctx.log(f"sleeping {total - done:g} of {total:g} seconds")
    while done < total:
        chunk = min(step, total - done)
        time.sleep(chunk)
        done += chunk
        yield Step(progress=done / total, checkpoint=done)
    ctx.log(f"slept {total:g} seconds")
    return {"slept": total}


KIND = Kind(name="sleep", summary="Sleeps for a number of seconds.", params=SleepParams, run=run)
