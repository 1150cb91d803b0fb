"""`jobkeeper serve` running real programs: killed or restarted, no program outlives it."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.harness import Server, wait_for
from tests.kinds.conftest import PROGRAMS, alive, commands_toml

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

STEPS = 40


@pytest.fixture
def commands(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "commands.toml"
    path.write_text(commands_toml(tmp_path) + f'''
[commands.count-frozen]
program = "{sys.executable}"
args = ["{PROGRAMS}/counter.py", "{STEPS}", "0.1"]
stop = "freeze"
''')
    return {"JOBKEEPER_COMMANDS": str(path), "JOBKEEPER_CHECKPOINT_INTERVAL": "0.1",
            "JOBKEEPER_POLL_INTERVAL": "0.2"}  # fmt: skip


def texts(server: Server, job_id: int) -> list[str]:
    return [line["text"] for line in server.get(f"/jobs/{job_id}/logs?limit=1000")["items"]]


def program_pids(server: Server, job_id: int, runs: int = 1) -> list[int]:
    def started() -> list[int] | None:
        pids = [int(t.split("(pid ")[1].split(")")[0]) for t in texts(server, job_id)
                if t.startswith("[jobkeeper] started ")]  # fmt: skip
        return pids if len(pids) >= runs else None

    return wait_for(started, 30, f"job {job_id} started {runs} times")


def everything_below(server: Server) -> list[int]:
    """The pids of every process below the server's master: workers, supervisors, programs."""
    return [p.pid for p in psutil.Process(server.process.pid).children(recursive=True)]


def checkpoint_next(server: Server, job_id: int) -> int:
    checkpoint: Any = server.job(job_id).get("checkpoint") or {}
    return int((checkpoint.get("program") or {}).get("next", 0))


def submit(server: Server, command: str, **params: Any) -> int:
    return server.submit("command", command=command, **params)


def test_serve_killed_with_a_program_running_leaves_no_process_and_the_job_continues(
    start_server: Callable[..., Server], commands: dict[str, str]
) -> None:
    first = start_server(env=commands)
    job_id = submit(first, "count", steps=STEPS, pause=0.1)
    [pid] = program_pids(first, job_id)
    wait_for(lambda: checkpoint_next(first, job_id) > 3, 30, "a checkpoint recorded")
    below = everything_below(first)
    assert pid in below and len(below) >= 3  # gunicorn's worker, the supervisor, the program
    first.signal(signal.SIGKILL)  # master and worker at once; the supervisor is not in their group
    first.wait_exit(10)
    wait_for(lambda: alive(below) == [], 20, "every process of the killed server gone")
    second = start_server(data=first.data, env=commands)
    job = second.wait_status(job_id, "succeeded", "failed", timeout=90)
    assert job["status"] == "succeeded", job
    assert job["result"]["result"] == {"sum": STEPS * (STEPS + 1) // 2}
    log = texts(second, job_id)
    assert any(t.startswith("[jobkeeper] started count") and t.endswith("from its checkpoint")
               for t in log), log  # fmt: skip
    types = [entry["type"] for entry in second.history(job_id)]
    assert "Requeued" in types and types.count("Started") == 2, types


def test_a_program_stopped_at_its_checkpoint_resumes_after_a_restart_of_serve(
    start_server: Callable[..., Server], commands: dict[str, str]
) -> None:
    first = start_server(env=commands)
    job_id = submit(first, "count", steps=STEPS, pause=0.1)
    [pid] = program_pids(first, job_id)
    wait_for(lambda: checkpoint_next(first, job_id) > 3, 30, "a checkpoint recorded")
    first.post(f"/jobs/{job_id}/stop")
    stopped = first.wait_status(job_id, "stopped")
    assert alive([pid]) == []
    first.stop()
    second = start_server(data=first.data, env=commands)
    assert second.job(job_id)["status"] == "stopped"
    second.post(f"/jobs/{job_id}/resume")
    job = second.wait_status(job_id, "succeeded", "failed", timeout=90)
    assert job["result"]["result"] == {"sum": STEPS * (STEPS + 1) // 2}
    log = texts(second, job_id)
    resumed_at = stopped["checkpoint"]["program"]["next"]
    assert f"[stdout] starting at {resumed_at}" in log
    added = [int(t.removeprefix("[stdout] added ")) for t in log if "[stdout] added" in t]
    assert added == list(range(1, STEPS + 1))


def test_a_frozen_job_whose_server_is_killed_runs_again_from_its_checkpoint(
    start_server: Callable[..., Server], commands: dict[str, str]
) -> None:
    first = start_server(env=commands)
    job_id = submit(first, "count-frozen")
    [pid] = program_pids(first, job_id)
    wait_for(lambda: checkpoint_next(first, job_id) > 3, 30, "a checkpoint recorded")
    first.post(f"/jobs/{job_id}/stop")
    stopped = first.wait_status(job_id, "stopped")
    assert stopped["checkpoint"]["frozen"] is True
    assert psutil.Process(pid).status() == psutil.STATUS_STOPPED  # frozen, alive with its worker
    first.signal(signal.SIGKILL)
    first.wait_exit(10)
    wait_for(lambda: alive([pid]) == [], 20, "the frozen program gone with its worker")
    second = start_server(data=first.data, env=commands)
    assert second.job(job_id)["status"] == "stopped"
    second.post(f"/jobs/{job_id}/resume")
    job = second.wait_status(job_id, "succeeded", "failed", timeout=90)
    assert job["result"]["result"] == {"sum": STEPS * (STEPS + 1) // 2}
    assert ("[jobkeeper] the frozen program is not on this worker (lost with its worker, or "
            "frozen on another); running it again from its last checkpoint") in texts(
        second, job_id)  # fmt: skip
    history = second.history(job_id)
    lost = [e for e in history if any("lost with its worker" in line["text"]
                                      for line in e["data"].get("lines") or [])]  # fmt: skip
    assert lost, "the history says how the job continued"


def test_kinds_lists_the_commands_for_every_client(
    start_server: Callable[..., Server], commands: dict[str, str]
) -> None:
    server = start_server(env=commands)
    kinds = {item["name"]: item for item in server.get("/kinds")["items"]}
    titles = [branch["title"] for branch in kinds["command"]["params_schema"]["oneOf"]]
    assert titles == ["behave", "count", "count-frozen", "slow", "spin", "stubborn"]
    response = server.http.post(f"{server.url}/api/v1/jobs", timeout=10,
                                json={"kind": "command", "params": {"command": "sh"}})  # fmt: skip
    assert response.status_code == 400
    assert "allowed: behave, count, count-frozen, slow, spin, stubborn" in response.text


def test_serve_stopped_with_sigterm_asks_the_program_to_stop_and_continues_it_next_start(
    start_server: Callable[..., Server], commands: dict[str, str]
) -> None:
    first = start_server(env=commands)
    job_id = submit(first, "count", steps=STEPS, pause=0.1)
    [pid] = program_pids(first, job_id)
    wait_for(lambda: checkpoint_next(first, job_id) > 3, 30, "a checkpoint recorded")
    first.stop()  # SIGTERM: the worker hands its jobs back, each at its program's checkpoint
    assert alive([pid]) == []
    second = start_server(data=first.data, env=commands)
    job = second.wait_status(job_id, "succeeded", "failed", timeout=90)
    assert job["result"]["result"] == {"sum": STEPS * (STEPS + 1) // 2}
    log = texts(second, job_id)
    assert "[jobkeeper] asked the program to stop (SIGUSR1)" in log
    added = [int(t.removeprefix("[stdout] added ")) for t in log if "[stdout] added" in t]
    assert added == list(range(1, STEPS + 1))  # the hand-back kept the exact checkpoint
    requeued = [e for e in second.history(job_id) if e["type"] == "Requeued"]
    assert requeued and "shutting down" in requeued[0]["data"]["reason"]
