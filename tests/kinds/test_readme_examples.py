"""The README's commands file and progress examples work as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.kinds.commands import load
from tests.conftest import fast_settings, wait_until
from tests.kinds.conftest import log_texts, wait_status

pytestmark = pytest.mark.timeout(120)

SECTION = (Path(__file__).parents[2] / "README.md").read_text().split(
    "## Running programs: the command kind"
)[1].split("\n## ")[0]


def block(language: str, nth: int = 0) -> str:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, re.S)[nth]


def test_the_commands_file_example_loads_and_builds_the_argv_it_describes(tmp_path: Path) -> None:
    text = block("toml").replace("/usr/local/bin/export-orders", sys.executable)
    text = text.replace("/var/lib/exports", str(tmp_path))
    path = tmp_path / "commands.toml"
    path.write_text(text)
    command = load(path)["export-orders"]
    params = command.validate({"command": "export-orders", "since": "2026-11-01", "days": 7})
    argv = command.argv(params)
    assert argv == [sys.executable, "--format", "csv", "--since=2026-11-01", "--days", "7"]
    assert command.stop == "checkpoint" and command.limits["files"] == 256


@pytest.mark.parametrize("language", ["sh", "python"])
def test_the_progress_examples_stop_resume_and_finish(tmp_path: Path, language: str) -> None:
    script = tmp_path / f"export.{language}"
    script.write_text(block(language).replace("exporting day", "day").replace(
        "# the real work goes here", "; import time; time.sleep(0.05)" if language == "python"
        else "; sleep 0.05"))  # fmt: skip
    program = "/bin/sh" if language == "sh" else sys.executable
    (tmp_path / "commands.toml").write_text(f'''
[commands.export]
program = "{program}"
args = ["{script}"]
env_allow = ["PATH"]
''')
    runtime = Runtime(fast_settings(tmp_path / "data", commands=str(tmp_path / "commands.toml")))
    runtime.start()
    try:
        outcome = runtime.app.submit(
            kind="command", params={"command": "export"}, owner="admin", by="admin"
        )
        job_id = outcome.job.number
        wait_until(lambda: (runtime.app.get_job(job_id).checkpoint or {}).get("program"), 30)
        runtime.app.command("stop", job_id, "admin")
        stopped = wait_status(runtime, job_id, "stopped", "failed")
        assert stopped.status.value == "stopped", stopped.error
        runtime.app.command("resume", job_id, "admin")
        job = wait_status(runtime, job_id, "succeeded", "failed")
        assert job.status.value == "succeeded", job.error
        assert job.result["result"] == {"days": 30}
        days = [t for t in log_texts(runtime, job_id) if t.startswith("[stdout] day")]
        assert len(days) == 30 and len(set(days)) == 30  # each day once, across two runs
    finally:
        runtime.close(timeout=10)
