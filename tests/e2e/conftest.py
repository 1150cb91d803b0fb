"""Fixtures of the end-to-end tests: real `jobkeeper serve` processes, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Server


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts healthy servers (on tmp_path/data unless told); stops them all afterwards."""
    servers: list[Server] = []

    def start(data: Path | None = None, env: dict[str, str] | None = None) -> Server:
        log = tmp_path / f"server-{len(servers) + 1}.log"
        server = Server(data or tmp_path / "data", log, env)
        servers.append(server)
        return server.wait_healthy()

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        print(f"--- {server.log.name} (exit {server.process.returncode})\n{server.output()}")
