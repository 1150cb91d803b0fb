"""`watch` and `logs -f` take a stream up again after its last event when the server ends it
early (as a server may: every few tenths of a second here), missing and repeating nothing."""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from tests.conftest import fast_settings


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Runtime, str]]:
    runtime = Runtime(fast_settings(tmp_path / "data"))
    runtime.start()
    app = create_app(runtime, stream_seconds=0.3)
    server = make_server("127.0.0.1", 0, app, ThreadingServer, QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield runtime, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        runtime.close()


def follow(runtime: Runtime, url: str, *args: str) -> list[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBKEEPER_")}
    env |= {"JOBKEEPER_URL": url, "JOBKEEPER_TOKEN": runtime.admin_token or "",
            "JOBKEEPER_CONFIG": os.devnull}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "jobkeeper", *args, "-o", "json"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_watch_and_logs_follow_resume_a_stream_the_server_ends_early(
    served: tuple[Runtime, str],
) -> None:
    runtime, url = served
    job_id = runtime.app.submit(
        kind="sleep", params={"seconds": 5, "step": 0.05}, owner="admin", by="admin"
    ).job.number
    events = follow(runtime, url, "watch", str(job_id))
    progress = [event["data"]["version"] for event in events if event["event"] == "progress"]
    assert progress == sorted(set(progress)) and len(progress) >= 5  # over several streams
    assert events[-1]["data"]["status"] == "succeeded"
    lines = follow(runtime, url, "logs", str(job_id), "-f")
    assert [line["text"] for line in lines] == ["sleeping 5 of 5 seconds", "slept 5 seconds"]
