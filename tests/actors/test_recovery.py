"""Recovery: a process killed while jobs run; a new one finishes them from their checkpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import wait_for_status

PRIMES_TO_1M = 78498

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from jobkeeper.bootstrap import Runtime
    from jobkeeper.settings import Settings

    settings = Settings.from_env(data=Path(sys.argv[1]), checkpoint_interval=0.05, poll_interval=0.1)
    runtime = Runtime(settings)
    runtime.start()
    ids = [
        runtime.app.submit(kind="primes", params={"limit": 1_000_000, "chunk": 1000, "delay": 0.01},
                       owner="admin", by="admin").job.number
        for _ in range(3)
    ]
    ids.append(runtime.app.submit(kind="sleep", params={"seconds": 1.5, "step": 0.1},
                              owner="admin", by="admin").job.number)
    queued = runtime.app.submit(kind="sleep", params={"seconds": 0.2}, owner="admin", by="admin",
                            not_before=__import__("datetime").datetime.now(
                                __import__("datetime").timezone.utc)
                            + __import__("datetime").timedelta(seconds=1)).job.number
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = [runtime.app.get_job(i) for i in ids]
        if all(j.status.value == "running" and j.progress > 0.05 for j in jobs):
            break
        time.sleep(0.02)
    print(" ".join(str(i) for i in ids + [queued]), flush=True)
    time.sleep(60)
    """
)


def test_jobs_of_a_killed_process_finish_from_their_checkpoints(
    tmp_path: Path, runtime_factory: Any, backend: dict[str, Any]
) -> None:
    data = tmp_path / "data"
    env = {**os.environ, **{f"JOBKEEPER_{k.upper()}": str(v) for k, v in backend.items()}}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        ids = [int(i) for i in child.stdout.readline().split()]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert len(ids) == 5
    primes, sleeper, queued = ids[:3], ids[3], ids[4]

    runtime = runtime_factory(data)
    for job_id in primes:
        before = [h for h in runtime.app.history(job_id) if h.type == "Progressed"]
        assert before, "the killed process had recorded checkpoints"
        job = wait_for_status(runtime, job_id, "succeeded", "failed", timeout=90)
        assert job.result == {"count": PRIMES_TO_1M}
        history = runtime.app.history(job_id)
        requeued = [h for h in history if h.type == "Requeued"]
        assert len(requeued) == 1 and requeued[0].by == "system"
        reason = requeued[0].data["reason"]
        assert "recovered after the service restarted" in reason or "was lost" in reason
        # the new run continued from the last checkpoint, not from zero
        restart_at = history.index(requeued[0])
        resumed_from = history[restart_at - 1].data["checkpoint"]["next"]
        later = [h.data["checkpoint"]["next"] for h in history[restart_at:] if h.type == "Progressed"]
        assert resumed_from > 0 and all(n > resumed_from for n in later)
        assert sum(h.type in ("Succeeded", "Failed", "Cancelled") for h in history) == 1
    for job_id in (sleeper, queued):
        wait_for_status(runtime, job_id, "succeeded", timeout=30)
        terminal = [h for h in runtime.app.history(job_id) if h.type == "Succeeded"]
        assert len(terminal) == 1
