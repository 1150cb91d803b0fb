"""The real server process on a data folder, an HTTP client for it, and polling helpers."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

T = TypeVar("T")

UNLIMITED = {"JOBKEEPER_RATE_COMMANDS": "off", "JOBKEEPER_RATE_READS": "off"}
BOOT_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
TERMINAL = ("succeeded", "failed", "cancelled")


def wait_for(
    condition: Callable[[], T | None], timeout: float = 20.0, what: str = "condition"
) -> T:
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


PORTS = range(20000, 32768)
"""Where test servers listen: below Linux's range for outgoing connections (32768 and up), so
a port stays free while its server is down for a restart; a port the kernel handed out (bind
to 0) could be taken meanwhile by some client's connection, and the server would not start."""


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on or holds, from PORTS."""
    for _ in range(200):
        port = random.choice(PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


class Server:
    """One `jobkeeper serve` process (a gunicorn master and its worker, in their own group)."""

    def __init__(
        self,
        data: Path,
        log: Path,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("serve",),
    ) -> None:
        self.data, self.log, self.port = data, log, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        port, folder = str(self.port), str(data)
        command = (*command, "--data", folder) if command == ("serve",) else command
        command = [sys.executable, "-m", "jobkeeper", *command, "--port", port]
        # Tests poll fast; budgets are for the tests that set them.
        env = {**UNLIMITED, **os.environ, **(env or {})}
        self.admin_token = env.get("JOBKEEPER_ADMIN_TOKEN", "")
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        self.http = requests.Session()
        self.http.headers.update(self._auth_headers())

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, timeout: float = BOOT_TIMEOUT) -> Server:
        """Wait until /healthz answers 200; fail early if the process ends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    self.http.headers.update(self._auth_headers())
                    return self
            except requests.RequestException:  # not listening yet, or the worker still booting
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not healthy within {timeout} s:\n{self.output()}")

    def signal(self, number: int) -> None:
        """Send `number` to the whole process group (master and worker)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """SIGTERM the group, wait, SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)  # the master stops its worker
            if self.wait_exit(STOP_TIMEOUT) is None:
                self.signal(signal.SIGKILL)
                self.process.wait(5)
        self.signal(signal.SIGKILL)  # nothing of this group may outlive the test
        self.http.close()

    # HTTP.

    def get(self, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.http.get(f"{self.url}/api/v1{path}", timeout=10, **kwargs)
        assert response.status_code == expect, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def post(self, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.post(f"{self.url}/api/v1{path}", json=body, timeout=10)
        assert response.status_code == expect, (
            f"POST {path}: {response.status_code} {response.text}"
        )
        return response

    def submit(self, kind: str, **params: Any) -> int:
        response = self.post("/jobs", {"kind": kind, "params": params}, expect=201)
        job = response.json()
        assert response.headers["Location"].endswith(f"/jobs/{job['id']}")
        return int(job["id"])

    def job(self, job_id: int) -> dict[str, Any]:
        return dict(self.get(f"/jobs/{job_id}"))

    def history(self, job_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"/jobs/{job_id}/history")["items"])

    def ids(self, path: str) -> list[int]:
        return [int(item["id"]) for item in self.get(path)["items"]]

    def wait_status(self, job_id: int, *statuses: str, timeout: float = 30.0) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] in statuses else None

        return wait_for(reached, timeout, f"job {job_id} in {statuses}")

    def wait_progress(self, job_id: int, timeout: float = 20.0) -> dict[str, Any]:
        def moving() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] == "running" and job["progress"] > 0 else None

        return wait_for(moving, timeout, f"job {job_id} running with progress")

    def _auth_headers(self) -> dict[str, str]:
        """Admin's token: the one chosen by JOBKEEPER_ADMIN_TOKEN, else the data folder's."""
        if self.admin_token:
            return {"Authorization": f"Bearer {self.admin_token}"}
        return _auth_headers(self.data)


def _auth_headers(data: Path) -> dict[str, str]:
    """A bearer token if the server keeps the admin's in its data folder."""
    for path in sorted(data.glob("*token*")) if data.is_dir() else []:
        try:
            token = path.read_text().strip().splitlines()[0].strip()
        except (OSError, IndexError):
            continue
        if token:
            return {"Authorization": f"Bearer {token}"}
    return {}


def events_of(history: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [entry for entry in history if entry["type"] in types]


def stream_events(server: Server, job_id: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Read the job's server-sent events until one carries a final status (or the stream ends)."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    url = f"{server.url}/api/v1/jobs/{job_id}/stream"
    with server.http.get(url, stream=True, timeout=(5, timeout)) as response:
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/event-stream")
        event: dict[str, Any] = {}
        for chunk in response.iter_lines(decode_unicode=True):
            raw = chunk if isinstance(chunk, str) else chunk.decode()
            assert time.monotonic() < deadline, f"stream of job {job_id} did not end in time"
            if raw:
                field, _, value = raw.partition(":")
                if field:  # lines starting with ':' are comments (keep-alives)
                    event.setdefault(field, []).append(value.removeprefix(" "))
                continue
            if "data" in event:
                events.append(_parsed(event))
                if events[-1]["status"] in TERMINAL:
                    break
            event = {}
    return events


def _parsed(event: dict[str, list[str]]) -> dict[str, Any]:
    text = "\n".join(event["data"])
    try:
        data = json.loads(text)
    except ValueError:
        data = text
    status = None
    if isinstance(data, dict):
        job = data["job"] if isinstance(data.get("job"), dict) else data
        status = job.get("status")
    return {"event": "".join(event.get("event", ["message"])), "data": data, "status": status}
