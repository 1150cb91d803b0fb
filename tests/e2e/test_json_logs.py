"""In JSON log mode every line on stderr is a JSON object, gunicorn's own lines too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.e2e.harness import BOOT_TIMEOUT, STOP_TIMEOUT, UNLIMITED, free_port, wait_for


def test_every_stderr_line_of_a_json_logging_server_is_json_gunicorns_too(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **UNLIMITED,
        **os.environ,
        "JOBKEEPER_LOG_FORMAT": "json",
        "JOBKEEPER_LOG_LEVEL": "debug",
    }
    command = [sys.executable, "-m", "jobkeeper", "serve", "--data", str(tmp_path / "data")]
    err = tmp_path / "stderr"
    with err.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=out,
            start_new_session=True, env=env,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/healthz"

        def healthy() -> bool:
            try:
                return requests.get(url, timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(healthy, BOOT_TIMEOUT)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    lines = err.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # fails on any plain-text line
    gunicorn = [e["message"] for e in entries if e["logger"].startswith("gunicorn")]
    assert any(message.startswith("Booting worker") for message in gunicorn)
