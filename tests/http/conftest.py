"""A real runtime (SQLite in a temporary folder, in-memory broker) behind a Falcon TestClient."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from jobkeeper.settings import Settings

MAX_BODY = 4096
SHORT = {"kind": "sleep", "params": {"seconds": 0.3, "step": 0.1}}
LONG = {"kind": "sleep", "params": {"seconds": 60, "step": 0.05}}
_names = itertools.count(1)


class Api:
    """The test client plus the waits every test needs (polling with a deadline)."""

    SHORT, LONG, MAX_BODY = SHORT, LONG, MAX_BODY

    def __init__(self, client: falcon.testing.TestClient, runtime: Runtime) -> None:
        self.client, self.runtime = client, runtime

    def submit(self, **body: Any) -> dict[str, Any]:
        """Submit a job; its JSON, after asserting 201."""
        result = self.client.simulate_post("/api/v1/jobs", json=body)
        assert result.status_code == 201, result.json
        job: dict[str, Any] = result.json
        return job

    def job(self, job_id: int) -> dict[str, Any]:
        """GET /jobs/{id}."""
        job: dict[str, Any] = self.client.simulate_get(f"/api/v1/jobs/{job_id}").json
        return job

    def wait_for_status(self, job_id: int, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        """The job once its status is one of `statuses`."""
        job: dict[str, Any] = wait_until(
            lambda: (job := self.job(job_id))["status"] in statuses and job, timeout
        )
        return job

    def new_user(self) -> str:
        """A user of this test alone, so lists filtered by owner see only its jobs."""
        name = f"user{next(_names)}"
        result = self.client.simulate_post("/api/v1/users", json={"name": name})
        assert result.status_code == 201, result.json
        return name


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    """Poll `condition` until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)
    return value


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data: Path = tmp_path_factory.mktemp("data")
    rt = Runtime(Settings(data=data, checkpoint_interval=0.1, poll_interval=0.2))
    rt.start()
    yield rt
    rt.close(timeout=5)


@pytest.fixture(scope="session")
def client(runtime: Runtime) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(runtime, max_body=MAX_BODY))


@pytest.fixture(scope="session")
def api(client: falcon.testing.TestClient, runtime: Runtime) -> Api:
    return Api(client, runtime)


@pytest.fixture
def user(api: Api) -> str:
    return api.new_user()
