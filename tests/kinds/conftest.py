"""A commands file over the test programs, and a runtime that runs them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import psutil
import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from tests.conftest import fast_settings, wait_until

PROGRAMS = Path(__file__).with_name("programs")


def commands_toml(tmp: Path) -> str:
    """Commands over the test programs, run by this interpreter (an absolute path)."""
    python, programs = sys.executable, PROGRAMS
    return f'''
[commands.count]
summary = "Adds 1 to N, a number per step"
program = "{python}"
args = ["{programs}/counter.py"]
stop = "checkpoint"
stop_signal = "SIGUSR1"
stop_timeout = 20
[commands.count.params.steps]
schema = {{ type = "integer", minimum = 1, maximum = 100000 }}
positional = true
required = true
[commands.count.params.pause]
schema = {{ type = "number", minimum = 0, maximum = 5, default = 0.05 }}
positional = true
[commands.count.params.signal]
schema = {{ type = "string", enum = ["SIGUSR1"], default = "SIGUSR1" }}
positional = true

[commands.spin]
summary = "Burns CPU, knows nothing of jobkeeper"
program = "{python}"
args = ["{programs}/spin.py"]
stop = "freeze"

[commands.stubborn]
program = "{python}"
args = ["{programs}/stubborn.py"]
grace = 1
stop_timeout = 1

[commands.behave]
program = "{python}"
args = ["{programs}/behave.py"]
workdir = "{tmp}"
env = {{ FIXED = "yes" }}
env_allow = ["PATH", "ALLOWED_HERE"]
limits = {{ cpu = 100, files = 64, memory = 4294967296 }}
[commands.behave.params.what]
schema = {{ type = "string", enum = ["args", "fail", "signal", "binary", "limits", "sleep", "orphan"] }}
positional = true
required = true
[commands.behave.params.word]
schema = {{ type = "string", maxLength = 1000 }}
positional = true
[commands.behave.params.name]
schema = {{ type = "string" }}
arg = "--name={{}}"
[commands.behave.params.label]
schema = {{ type = "string" }}
flag = "--label"
[commands.behave.params.verbose]
schema = {{ type = "boolean" }}
flag = "--verbose"
[commands.behave.params.secret]
schema = {{ type = "string", pattern = "^[a-z ;$()|&`/-]*$" }}
env = "BEHAVE_SECRET"

[commands.slow]
program = "{python}"
args = ["{programs}/behave.py", "sleep", "60"]
deadline = 1.5
grace = 1
'''


@pytest.fixture
def commands_file(tmp_path: Path) -> Path:
    path = tmp_path / "commands.toml"
    path.write_text(commands_toml(tmp_path))
    return path


@pytest.fixture
def command_runtime(tmp_path: Path, commands_file: Path) -> Iterator[Runtime]:
    runtime = Runtime(fast_settings(tmp_path / "data", commands=str(commands_file)))
    runtime.start()
    yield runtime
    runtime.close(timeout=10)


@pytest.fixture
def client(command_runtime: Runtime) -> falcon.testing.TestClient:
    assert command_runtime.admin_token
    headers = {"Authorization": f"Bearer {command_runtime.admin_token}"}
    return falcon.testing.TestClient(create_app(command_runtime), headers=headers)


@pytest.fixture
def submit(client: falcon.testing.TestClient) -> Callable[..., int]:
    def submit(command: str, **params: Any) -> int:
        body = {"kind": "command", "params": {"command": command, **params}}
        response = client.simulate_post("/api/v1/jobs", json=body)
        assert response.status_code == 201, response.text
        return int(response.json["id"])

    return submit


def wait_status(runtime: Runtime, job_id: int, *statuses: str, timeout: float = 30.0) -> Any:
    wait_until(lambda: runtime.app.get_job(job_id).status.value in statuses, timeout)
    return runtime.app.get_job(job_id)


def log_texts(runtime: Runtime, job_id: int) -> list[str]:
    """Every log line the job's events carry, in order."""
    texts = []
    for entry in runtime.app.history(job_id):
        texts.extend(line["text"] for line in entry.data.get("lines", ()) or ())
    return texts


def event_types(runtime: Runtime, job_id: int) -> list[str]:
    return [entry.type for entry in runtime.app.history(job_id)]


def alive(pids: list[int]) -> list[int]:
    """The pids of `pids` that still run (zombies count as gone)."""
    living = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
        except psutil.NoSuchProcess:
            pass
    return living
