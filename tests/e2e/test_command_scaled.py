"""The command kind in scaled mode: a worker killed with its program, jobs moving between workers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import SCALED_MARKS
from tests.e2e.cluster import Cluster, scaled_cluster
from tests.e2e.harness import wait_for
from tests.e2e.test_command_kind import checkpoint_next, program_pids, texts
from tests.kinds.conftest import PROGRAMS, alive, commands_toml

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240), *SCALED_MARKS]

STEPS = 50


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    path = tmp_path / "commands.toml"
    path.write_text(commands_toml(tmp_path) + f'''
[commands.count-frozen]
program = "{sys.executable}"
args = ["{PROGRAMS}/counter.py", "{STEPS}", "0.1"]
stop = "freeze"
''')
    with scaled_cluster(tmp_path, apis=1, workers=2, commands=str(path)) as running:
        yield running


def worker_of(cluster: Cluster, job_id: int) -> Any:
    """The worker process that runs the job's current run."""
    api = cluster.apis[0]
    started = [e for e in api.history(job_id) if e["type"] == "Started"]
    pid = int(started[-1]["data"]["worker"].split(":")[1])
    return next(w for w in cluster.workers if w.process.pid == pid)


def test_a_worker_killed_with_its_program_leaves_nothing_and_another_worker_continues(
    cluster: Cluster,
) -> None:
    api = cluster.apis[0]
    job_id = api.submit("command", command="count", steps=STEPS, pause=0.1)
    [pid] = program_pids(api, job_id)
    wait_for(lambda: checkpoint_next(api, job_id) > 3, 30, "a checkpoint recorded")
    victim = worker_of(cluster, job_id)
    below = [p.pid for p in psutil.Process(victim.process.pid).children(recursive=True)]
    assert pid in below
    victim.kill()  # SIGKILL to the worker's group; its supervisors live in sessions of their own
    wait_for(lambda: alive(below) == [], 20, "the killed worker's program gone")
    job = api.wait_status(job_id, "succeeded", "failed", timeout=120)
    assert job["result"]["result"] == {"sum": STEPS * (STEPS + 1) // 2}, job
    workers = [e["data"]["worker"] for e in api.history(job_id) if e["type"] == "Started"]
    assert len(set(workers)) == 2, workers
    assert any(t.endswith("from its checkpoint") for t in texts(api, job_id))


def test_a_frozen_job_resumed_on_any_worker_ends_with_the_exact_result_and_no_stray_process(
    cluster: Cluster,
) -> None:
    api = cluster.apis[0]
    job_id = api.submit("command", command="count-frozen")
    [pid] = program_pids(api, job_id)
    wait_for(lambda: checkpoint_next(api, job_id) > 3, 30, "a checkpoint recorded")
    api.post(f"/jobs/{job_id}/stop")
    api.wait_status(job_id, "stopped")
    assert psutil.Process(pid).status() == psutil.STATUS_STOPPED
    api.post(f"/jobs/{job_id}/resume")
    job = api.wait_status(job_id, "succeeded", "failed", timeout=120)
    assert job["result"]["result"] == {"sum": STEPS * (STEPS + 1) // 2}, job
    log = texts(api, job_id)
    continued = "[jobkeeper] continued the frozen program (SIGCONT)" in log
    moved = any("frozen on another); running it again from its last checkpoint" in t
                for t in log)  # fmt: skip
    assert continued != moved, log  # one or the other, said in the log
    wait_for(lambda: alive([pid]) == [], 20, "the frozen program ended once its job moved on")
