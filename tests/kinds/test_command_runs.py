"""The `command` kind runs real programs: output becomes log lines, endings become outcomes."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from jobkeeper.bootstrap import Runtime
from tests.kinds.conftest import alive, log_texts, wait_status

pytestmark = pytest.mark.timeout(90)


def test_a_program_that_finishes_succeeds_with_its_exit_code_run_time_and_result(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job_id = submit("count", steps=5, pause=0.01)
    job = wait_status(command_runtime, job_id, "succeeded", "failed")
    assert job.status.value == "succeeded", job.error
    assert job.result["exit_code"] == 0
    assert job.result["result"] == {"sum": 15}
    assert 0 < job.result["run_seconds"] < 60
    texts = log_texts(command_runtime, job_id)
    assert "[stdout] starting at 1" in texts
    assert [t for t in texts if t.startswith("[stdout] added")] == [
        f"[stdout] added {n}" for n in range(1, 6)
    ]
    assert job.progress == 1.0


def test_a_non_zero_exit_fails_with_the_code_and_the_last_stderr_lines(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job = wait_status(command_runtime, submit("behave", what="fail"), "succeeded", "failed")
    assert job.status.value == "failed"
    assert job.error.startswith("the program exited with code 3; last stderr lines: problem 5 |")
    assert job.error.endswith("problem 14")
    assert "problem 4 " not in job.error + " "
    texts = log_texts(command_runtime, job.number)
    assert "[stderr] problem 1" in texts and "[stdout] some output" in texts
    assert not any("Traceback" in text for text in texts)


def test_death_by_a_signal_names_the_signal(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job = wait_status(command_runtime, submit("behave", what="signal"), "succeeded", "failed")
    assert job.status.value == "failed"
    assert job.error == "the program was killed by signal SIGKILL (9)"


def test_binary_output_and_long_lines_are_made_safe_and_cut(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job = wait_status(command_runtime, submit("behave", what="binary"), "succeeded", "failed")
    assert job.status.value == "succeeded", job.error
    texts = log_texts(command_runtime, job.number)
    assert "[stdout] café \\xff\\xfe\\x00nul \\x1b[31mred" in texts
    long = next(t for t in texts if t.startswith("[stdout] xxx"))
    assert len(long) < 4100 and long.endswith("more]")
    assert "[stdout] after the long line" in texts
    assert "[stdout] no newline at the end" in texts
    assert any("ignored a progress line that is not a JSON object" in t for t in texts)
    assert all("\x00" not in t for t in texts)


def test_the_program_gets_only_its_allowlisted_environment_stdio_and_progress_pipe(
    command_runtime: Runtime, submit: Callable[..., int], tmp_path: Path
) -> None:
    os.environ["ALLOWED_HERE"] = "passed"
    os.environ["NOT_ALLOWED_HERE"] = "kept back"
    try:
        job_id = submit("behave", what="args")
        job = wait_status(command_runtime, job_id, "succeeded", "failed")
    finally:
        del os.environ["ALLOWED_HERE"], os.environ["NOT_ALLOWED_HERE"]
    assert job.status.value == "succeeded", job.error
    report = job.result["result"]
    env = report["env"]
    assert env["ALLOWED_HERE"] == "passed" and env["FIXED"] == "yes"
    assert env["JOBKEEPER_PROGRESS_FD"] == "3" and env["JOBKEEPER_JOB_ID"] == str(job_id)
    assert "NOT_ALLOWED_HERE" not in env
    assert not [name for name in env if name.startswith("JOBKEEPER_") and name not in (
        "JOBKEEPER_PROGRESS_FD", "JOBKEEPER_JOB_ID")]  # fmt: skip
    # 0, 1, 2, the progress pipe, and the descriptor listdir itself holds open
    assert report["fds"][:4] == [0, 1, 2, 3] and len(report["fds"]) == 5
    assert report["cwd"] == str(tmp_path)


def test_resource_limits_of_the_commands_file_apply(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job = wait_status(command_runtime, submit("behave", what="limits"), "succeeded", "failed")
    assert job.result["result"] == {
        "RLIMIT_CPU": 100, "RLIMIT_NOFILE": 64, "RLIMIT_AS": 4 * 1024**3
    }  # fmt: skip


def test_the_commands_deadline_ends_the_program_and_fails_the_job(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job = wait_status(command_runtime, submit("slow"), "succeeded", "failed")
    assert job.error == "deadline of 1.5 s of running passed; the program was ended"


def test_a_program_killed_from_outside_fails_naming_the_signal(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job_id = submit("spin")
    wait_status(command_runtime, job_id, "running")
    from tests.conftest import wait_until

    def pid() -> int | None:
        for text in log_texts(command_runtime, job_id):
            if text.startswith("[jobkeeper] started spin (pid "):
                return int(text.split("pid ")[1].rstrip(")"))
        return None

    os.kill(wait_until(pid), signal.SIGTERM)
    job = wait_status(command_runtime, job_id, "failed", "succeeded")
    assert job.error == "the program was killed by signal SIGTERM (15)"


def test_processes_a_program_leaves_behind_end_before_its_job_does(
    command_runtime: Runtime, submit: Callable[..., int]
) -> None:
    job = wait_status(command_runtime, submit("behave", what="orphan"), "succeeded", "failed")
    assert job.status.value == "succeeded", job.error
    assert alive([job.result["result"]["child"]]) == []
