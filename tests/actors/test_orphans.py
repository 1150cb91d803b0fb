"""A live job whose run has no actor in its worker (the run broke while the store was down and
could not hand the job back) is handed back by that worker's own sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from jobkeeper.bootstrap import Runtime
from tests.conftest import wait_until

LATER = datetime.now(UTC) + timedelta(hours=1)  # no worker starts it by itself


def test_a_run_with_no_actor_in_its_live_worker_is_handed_back(
    runtime_factory: Callable[..., Runtime],
) -> None:
    runtime = runtime_factory(worker_timeout=1.0)
    app = runtime.app
    job_id = app.submit(kind="sleep", params={"seconds": 1}, owner="admin", by="admin",
                        not_before=LATER).job.number  # fmt: skip
    app.start(job_id, "run-without-actor", runtime.worker_id)  # as if its actor had died

    def requeued() -> list[str]:
        return [entry.data["reason"] for entry in app.history(job_id) if entry.type == "Requeued"]

    reasons = wait_until(requeued, timeout=30)
    assert reasons == [f"its run ended on worker {runtime.worker_id} without handing the job back"]
    assert app.get_job(job_id).status.value == "queued"  # and waits for its time
