"""A kind that hands back a checkpoint or a result the store cannot hold exactly (an integer
beyond 64 bits, an object that is not JSON) fails its job with the reason, and the views go
on with the jobs after it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from jobkeeper.kinds.kind import Kind, Step
from tests.conftest import running_with_kinds
from tests.http.conftest import wait_until


class NoParams(BaseModel):
    pass


def huge_checkpoint(ctx: Any) -> Iterator[Step]:
    yield Step(0.5, {"next": 2**70})
    return {"done": True}


def huge_result(ctx: Any) -> Iterator[Step]:
    yield Step(0.5, None)
    return {"value": 2**70}


def object_result(ctx: Any) -> Iterator[Step]:
    yield Step(0.5, None)
    return {"value": object()}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (huge_checkpoint, "checkpoint that is not JSON: Integer exceeds 64-bit range"),
        (huge_result, "result is not JSON: Integer exceeds 64-bit range"),
        (object_result, "result is not JSON"),
    ],
)
def test_what_cannot_be_stored_exactly_fails_the_job_with_the_reason(
    tmp_path: Path, body: Any, reason: str
) -> None:
    odd = Kind("odd", "hands back what JSON cannot hold", NoParams, body)
    with running_with_kinds(tmp_path, odd) as runtime:
        job = runtime.app.submit(kind="odd", params={}, owner="admin", by="admin").job
        wait_until(lambda: runtime.app.get_job(job.number).status.value == "failed")
        assert reason in (runtime.app.get_job(job.number).error or "")
        later = runtime.app.submit(kind="sleep", params={"seconds": 0.1}, owner="admin", by="admin")
        wait_until(lambda: runtime.app.get_job(later.job.number).status.value == "succeeded")
        assert runtime.projector is not None
        assert runtime.projector.wait(runtime.app.position(), timeout=10)
        assert (runtime.views.job(job.number) or {}).get("status") == "failed"
        assert (runtime.views.job(later.job.number) or {}).get("status") == "succeeded"
