"""Stop that really pauses (checkpoint and freeze), cancel that really ends the whole group."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psutil
import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.domain.job import Job
from tests.conftest import wait_until
from tests.kinds.conftest import alive, event_types, log_texts, wait_status

pytestmark = pytest.mark.timeout(120)


def command(runtime: Runtime, name: str, job_id: int) -> None:
    runtime.app.command(name, job_id, "admin")


def program_pid(runtime: Runtime, job_id: int, runs: int = 1) -> int:
    """The pid of the program's last start, once it has started `runs` times."""

    def started() -> list[int] | None:
        pids = [
            int(text.split("(pid ")[1].split(")")[0])
            for text in log_texts(runtime, job_id)
            if text.startswith("[jobkeeper] started ")
        ]
        return pids if len(pids) >= runs else None

    return wait_until(started, 30)[-1]


def test_a_checkpointing_program_stopped_and_resumed_three_times_ends_with_the_exact_sum(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    steps = 60
    job_id = submit("count", steps=steps, pause=0.05)
    pids = []
    for round_ in range(3):
        pids.append(program_pid(command_runtime, job_id, runs=round_ + 1))
        beyond = 3 * round_ + 2
        wait_until(lambda: _checkpoint_next(command_runtime, job_id) > beyond, 30)  # noqa: B023
        command(command_runtime, "stop", job_id)
        job = wait_status(command_runtime, job_id, "stopped", "succeeded", "failed")
        assert job.status.value == "stopped", job.error
        assert alive(pids) == []  # the program exited: nothing runs while stopped
        assert job.checkpoint["program"]["next"] > 1
        command(command_runtime, "resume", job_id)
    job = wait_status(command_runtime, job_id, "succeeded", "failed", timeout=60)
    assert job.status.value == "succeeded", job.error
    assert job.result["result"] == {"sum": steps * (steps + 1) // 2}
    texts = log_texts(command_runtime, job_id)
    added = [int(t.removeprefix("[stdout] added ")) for t in texts if "[stdout] added" in t]
    assert added == list(range(1, steps + 1))  # every number exactly once across four runs
    assert texts.count("[jobkeeper] asked the program to stop (SIGUSR1)") == 3
    assert len(set(pids)) == 3
    assert event_types(command_runtime, job_id).count("Stopped") == 3


def _checkpoint_next(runtime: Runtime, job_id: int) -> int:
    job: Job = runtime.app.get_job(job_id)
    checkpoint: Any = job.checkpoint
    if job.status.value != "running" or not checkpoint or not checkpoint.get("program"):
        return 0
    return int(checkpoint["program"]["next"])


def cpu_of(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def test_a_frozen_program_uses_no_cpu_and_continues_the_same_process_on_resume(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job_id = submit("spin")
    pid = program_pid(command_runtime, job_id)
    wait_until(lambda: any("count" in t for t in log_texts(command_runtime, job_id)), 30)
    command(command_runtime, "stop", job_id)
    job = wait_status(command_runtime, job_id, "stopped", "failed")
    assert job.status.value == "stopped" and job.checkpoint["frozen"] is True
    assert psutil.Process(pid).status() == psutil.STATUS_STOPPED
    before = cpu_of(pid)
    time.sleep(1.0)  # the measurement itself: a second of wall time while frozen
    assert cpu_of(pid) - before < 0.02
    command(command_runtime, "resume", job_id)
    wait_status(command_runtime, job_id, "running")
    wait_until(lambda: cpu_of(pid) - before > 0.05, 30)  # the same process burns CPU again
    assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
    wait_until(lambda: "[jobkeeper] continued the frozen program (SIGCONT)" in log_texts(
        command_runtime, job_id), 30)  # fmt: skip
    texts = log_texts(command_runtime, job_id)
    assert [t for t in texts if t.startswith("[jobkeeper] started")] == [
        f"[jobkeeper] started spin (pid {pid})"
    ]
    command(command_runtime, "cancel", job_id)
    wait_status(command_runtime, job_id, "cancelled")
    assert alive([pid]) == []


def test_cancelling_a_frozen_job_ends_its_program(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job_id = submit("spin")
    pid = program_pid(command_runtime, job_id)
    command(command_runtime, "stop", job_id)
    wait_status(command_runtime, job_id, "stopped")
    command(command_runtime, "cancel", job_id)  # no actor: the job goes straight to cancelled
    wait_until(lambda: alive([pid]) == [], 30)


def test_cancel_ends_a_program_that_ignores_sigterm_and_all_its_children(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job_id = submit("stubborn")

    def pids() -> list[int] | None:
        checkpoint: Any = command_runtime.app.get_job(job_id).checkpoint
        return checkpoint["program"]["pids"] if checkpoint and checkpoint["program"] else None

    family = wait_until(pids, 30)
    assert len(alive(family)) == 4  # the program and three children, one in a session of its own
    command(command_runtime, "cancel", job_id)
    job = wait_status(command_runtime, job_id, "cancelled", "failed")
    assert job.status.value == "cancelled"
    assert alive(family) == []  # already gone when the job says cancelled
    assert "[jobkeeper] ending the program's process group (cancel)" in log_texts(
        command_runtime, job_id
    )


def test_a_job_deadline_ends_the_program_group_and_fails_the_job(
    command_runtime: Runtime, submit: Callable[..., int], client: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    deadline = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    body = {"kind": "command", "params": {"command": "stubborn"}, "deadline": deadline}
    response = client.simulate_post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    job_id = int(response.json["id"])
    family = wait_until(lambda: (command_runtime.app.get_job(job_id).checkpoint or {}).get(
        "program"), 30)["pids"]  # fmt: skip
    job = wait_status(command_runtime, job_id, "failed", "succeeded", "cancelled")
    assert job.error.startswith("deadline ") and job.error.endswith(" passed")
    assert alive(family) == []


def test_restart_of_a_frozen_job_starts_a_new_program_and_ends_the_old(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job_id = submit("spin")
    first = program_pid(command_runtime, job_id)
    command(command_runtime, "stop", job_id)
    wait_status(command_runtime, job_id, "stopped")
    command(command_runtime, "restart", job_id)
    wait_until(lambda: alive([first]) == [], 30)
    wait_status(command_runtime, job_id, "running")
    second = program_pid(command_runtime, job_id, runs=2)
    assert second != first and alive([second]) == [second]
    command(command_runtime, "cancel", job_id)
    wait_status(command_runtime, job_id, "cancelled")
    assert alive([second]) == []


def test_a_program_that_ignores_its_stop_signal_is_killed_after_the_stop_timeout(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job_id = submit("stubborn")
    family = wait_until(lambda: (command_runtime.app.get_job(job_id).checkpoint or {}).get(
        "program"), 30)["pids"]  # fmt: skip
    command(command_runtime, "stop", job_id)
    job = wait_status(command_runtime, job_id, "stopped", "failed")
    assert job.status.value == "stopped"
    assert job.checkpoint["program"] == {"pids": family}  # its last checkpoint is kept
    assert alive(family) == []
    texts = log_texts(command_runtime, job_id)
    assert "[jobkeeper] asked the program to stop (SIGTERM)" in texts
    assert "[jobkeeper] the program did not stop within 1 s; killing it" in texts
