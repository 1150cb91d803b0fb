"""Processes on loopback for the benchmarks: `jobkeeper serve`, the ceiling app, wrk, py-spy.

Every process is started in its own session and ended by its own process group id, so a
benchmark never leaves a server behind (and never touches anything it did not start).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

BENCH = Path(__file__).resolve().parent
LUA = BENCH / "lua"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
"""The admin token the bench chooses (JOBKEEPER_ADMIN_TOKEN) when the data has none."""
BOOT_TIMEOUT = 600.0  # a 1,000,000-job store catches its views up at boot if they lag
FAR_FUTURE = "2099-01-01T00:00:00Z"
"""`not_before` of jobs that must stay queued while measured (no worker takes them)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(data: Path, **extra: str) -> dict[str, str]:
    """The environment of a service under bench: quiet, no rate limits, a known admin token."""
    return {
        **os.environ,
        "JOBKEEPER_DATA": str(data),
        "JOBKEEPER_LOG_LEVEL": "warning",
        "JOBKEEPER_ADMIN_TOKEN": ADMIN_TOKEN,
        "JOBKEEPER_RATE_COMMANDS": "off",
        "JOBKEEPER_RATE_READS": "off",
        **extra,
    }


def admin_token(data: Path) -> str:
    """The token to send: the one the service wrote on its first start, else the chosen one."""
    path = data / "admin-token"
    if path.exists():
        return path.read_text().strip()
    return ADMIN_TOKEN


@dataclass
class Service:
    """A server process group on loopback: `jobkeeper serve`, or the ceiling app."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    data: Path | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = BOOT_TIMEOUT) -> Service:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*self.command, "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at boot; see {self.log}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become healthy in {timeout:.0f} s; see {self.log}")

    def token(self) -> str:
        return admin_token(self.data) if self.data is not None else ADMIN_TOKEN

    def session(self) -> requests.Session:
        """An HTTP session that sends the admin's bearer token."""
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {self.token()}"
        return http

    def worker_pid(self) -> int:
        """The gunicorn worker (the master's only child), which runs everything."""
        assert self.process is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = _children(self.process.pid)
            if children:
                return children[0]
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} has no worker process")

    def stop(self, timeout: float = 60.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def jobkeeper_serve(data: Path, log: Path, max_running: int = 64, **env: str) -> Service:
    """`jobkeeper serve` (embedded) on `data`, as a user would start it."""
    command = [sys.executable, "-m", "jobkeeper", "serve", "--data", str(data)]
    command += ["--max-running", str(max_running)]
    return Service("jobkeeper serve", command, service_env(data, **env), log, data=data)


def ceiling_serve(log: Path) -> Service:
    """The bare Falcon "hello" app on jobkeeper's own gunicorn settings (bench/hello.py)."""
    command = [sys.executable, str(BENCH / "hello.py")]
    return Service("ceiling", command, service_env(log.parent / "ceiling-data"), log)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid`, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def thread_count(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


# wrk.


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it with apt-get (Debian package `wrk`)", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=False)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed; install the Debian package `wrk`")
    return found


@dataclass(frozen=True)
class WrkResult:
    """One bounded wrk run: throughput, latency percentiles, statuses and errors."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: dict[str, int]
    extra: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, *statuses: int) -> int:
        return sum(self.statuses.get(str(s), 0) for s in statuses)

    @property
    def unexpected(self) -> int:
        """Requests that did not answer as the scenario expects, and socket errors."""
        return int(self.extra.get("unexpected", 0)) + sum(self.errors.values())


def lua_script(
    scenario: str, config: dict[str, Any], folder: Path, name: str | None = None
) -> Path:
    """The common prelude (auth, counting, JSON summary) + a scenario's lua, with `config`."""
    prelude = "CONFIG = " + _lua_value(config) + "\n"
    text = prelude + (LUA / "common.lua").read_text() + (LUA / f"{scenario}.lua").read_text()
    path = folder / f"{name or scenario}.lua"
    path.write_text(text)
    return path


def _lua_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua_value(k)}] = {_lua_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua_value(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid lua string literal here


def run_wrk(
    url: str,
    script: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    timeout: float = 10.0,
) -> WrkResult:
    """One bounded wrk run against `url`; the script's done() prints a JSON summary."""
    command = [
        ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout:g}s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout + 60)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            data = json.loads(line.removeprefix("BENCH-JSON "))
            return WrkResult(
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                statuses={str(k): int(v) for k, v in data["statuses"].items()},
                errors={k: int(v) for k, v in data["errors"].items()},
                extra={k: int(v) for k, v in data.get("extra", {}).items()},
            )
    raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")


# py-spy.


class Profiler:
    """py-spy recording the worker while a scenario runs (only with --profile)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, pid: int, name: str, seconds: float) -> None:
        if self.folder is None:
            return
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            raise SystemExit("--profile needs py-spy: pip install -r bench/requirements.txt")
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
            "--rate", "200", "--nonblocking", "--gil", "--format", "raw",
            "--output", str(self.folder / f"{name}.txt"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def stop(self) -> None:
        if self.process is not None:
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process = None


def percentile(values: list[float], p: float) -> float:
    """The `p`th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
