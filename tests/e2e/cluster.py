"""A scaled-mode cluster on PostgreSQL + Redis: API processes, workers and a projector."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import backend_settings
from tests.e2e.harness import Server, wait_for


class Process:
    """A `jobkeeper worker` or `jobkeeper projector` in its own process group."""

    def __init__(self, command: str, log: Path, env: dict[str, str]) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jobkeeper", command],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env,
            )  # fmt: skip

    def running(self) -> bool:
        return "running (pid" in self.log.read_text(errors="replace")

    def kill(self, number: int = signal.SIGKILL) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
            self.process.wait(5)


@dataclass
class Cluster:
    """The processes of a cluster, and the environment they share."""

    env: dict[str, str]
    apis: list[Server] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    projector: Process | None = None


@contextmanager
def scaled_cluster(
    folder: Path,
    *,
    apis: int = 2,
    workers: int = 3,
    projector: bool = True,
    backend: dict[str, Any] | None = None,
    **extra: str,
) -> Iterator[Cluster]:
    """A cluster with its own PostgreSQL schema and Redis namespace, stopped afterwards.

    Every process is given admin's token (JOBKEEPER_ADMIN_TOKEN): whichever starts first
    creates admin, and the API clients send that token. `extra` adds JOBKEEPER_* settings;
    `backend` replaces the shared servers' settings (database_url, broker_url, queue...).
    """
    servers: AbstractContextManager[dict[str, Any]] = (
        nullcontext(backend)
        if backend is not None
        else backend_settings("scaled", in_process=False)
    )
    with servers as settings:
        env = {**os.environ, **{f"JOBKEEPER_{k.upper()}": str(v) for k, v in settings.items()}}
        env.update(JOBKEEPER_CHECKPOINT_INTERVAL="0.2", JOBKEEPER_POLL_INTERVAL="0.5",
                   JOBKEEPER_MAX_RUNNING="8", JOBKEEPER_LOG_LEVEL="warning",
                   JOBKEEPER_DB_POOL_SIZE="2",  # at rest; busy pools still grow by 16
                   JOBKEEPER_DATA=str(folder / "data"),
                   JOBKEEPER_ADMIN_TOKEN=f"cluster-{secrets.token_hex(16)}")  # fmt: skip
        env.update({f"JOBKEEPER_{k.upper()}": v for k, v in extra.items()})
        cluster = Cluster(env)
        try:
            if projector:
                cluster.projector = Process("projector", folder / "projector.log", env)
            for n in range(workers):
                cluster.workers.append(Process("worker", folder / f"worker-{n}.log", env))
            for n in range(apis):
                command = ("api", "--workers", "1")
                cluster.apis.append(Server(folder, folder / f"api-{n}.log", env, command))
            for api in cluster.apis:
                api.wait_healthy()
            started = [*cluster.workers, *([cluster.projector] if cluster.projector else [])]
            wait_for(lambda: all(p.running() for p in started), 30, "workers running")
            yield cluster
        finally:
            for api in cluster.apis:
                api.stop()
            for process in [*cluster.workers, *([cluster.projector] if cluster.projector else [])]:
                process.stop()
            for log in sorted(folder.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
