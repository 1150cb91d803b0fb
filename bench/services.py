"""Start `jobkeeper serve` (embedded) or a scaled set (`api`, `worker`, `projector` on PostgreSQL
and Redis) on loopback for a benchmark, and take it all down again (schema and keys too)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TOKEN = "bench-admin-token-0123456789abcdef"


@dataclass
class Running:
    """What a benchmark talks to."""

    url: str
    port: int
    token: str
    pids: list[int]  # the processes of the API (masters); their workers are their children

    def session(self) -> requests.Session:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {self.token}"
        return http


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running(
    mode: str, work: Path, api_workers: int = 2, data: Path | None = None, **settings: str
) -> Iterator[Running]:
    """`mode` "embedded" (jobkeeper serve, on `data` if given: a copied store) or "scaled"
    (api with `api_workers` processes); `settings` are JOBKEEPER_* values (lower-case names
    without the prefix)."""
    work.mkdir(parents=True, exist_ok=True)
    data = data or work / "data"
    token_file = data / "admin-token"
    token = token_file.read_text().strip() if token_file.exists() else TOKEN
    port = free_port()
    env = {
        **os.environ,
        "JOBKEEPER_LOG_LEVEL": "warning",
        "JOBKEEPER_DATA": str(data),
        "JOBKEEPER_RATE_COMMANDS": "off",
        "JOBKEEPER_RATE_READS": "off",
        "JOBKEEPER_ADMIN_TOKEN": TOKEN,
        **{f"JOBKEEPER_{name.upper()}": value for name, value in settings.items()},
    }
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    processes: list[subprocess.Popen[bytes]] = []
    api: list[subprocess.Popen[bytes]] = []
    if mode == "scaled":
        env.update(
            JOBKEEPER_DATABASE_URL=f"{POSTGRES}?schema={schema}",
            JOBKEEPER_BROKER_URL=REDIS,
            JOBKEEPER_REDIS_URL=REDIS,
            JOBKEEPER_QUEUE=schema,
        )
        processes.append(_start(["projector"], env, work / "projector.log"))
        processes.append(_start(["worker", "--concurrency", "64"], env, work / "worker.log"))
        command = ["api", "--port", str(port), "--workers", str(api_workers)]
    else:
        command = ["serve", "--port", str(port), "--max-running", "64"]
    api.append(_start(command, env, work / f"{mode}.log"))
    processes.extend(api)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url)
        yield Running(url, port, token, [p.pid for p in api])
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if mode == "scaled":
            _drop(schema)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jobkeeper", *command],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _wait_healthy(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy in {timeout} s")


def _drop(schema: str) -> None:
    import psycopg
    import redis

    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(f"{schema}:*"))
    if keys:
        client.delete(*keys)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
