"""`jobkeeper serve` refuses unusable settings with one clear line, before starting anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def run_serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobkeeper", "serve", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["--port", "notanumber"], {}, ["--port", "notanumber"]),
        ([], {"JOBKEEPER_PORT": "abc"}, ["JOBKEEPER_PORT", "abc"]),
        (["--port", "70000"], {}, ["--port", "70000"]),
        ([], {"JOBKEEPER_MAX_RUNNING": "0"}, ["JOBKEEPER_MAX_RUNNING"]),
        (["--log-level", "loud"], {}, ["log level", "loud"]),
    ],
    ids=["port-flag", "port-env", "port-range", "max-running-env", "log-level"],
)
def test_bad_settings_exit_with_one_clear_line(
    tmp_path: Path, args: list[str], env: dict[str, str], words: list[str]
) -> None:
    assert_refused(run_serve("--data", str(tmp_path / "data"), *args, env=env), *words)


def test_a_data_folder_that_cannot_be_used_exits_with_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert_refused(run_serve("--data", str(blocker / "data")), "data folder", str(blocker))
