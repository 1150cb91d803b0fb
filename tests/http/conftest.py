"""A real runtime behind a Falcon TestClient that sends admin's token, on each backend; and
a fake of the application's port, for tests of the HTTP layer alone.

The runtime runs embedded (SQLite in a temporary folder, in-memory broker) and scaled
(PostgreSQL schema and Redis queue of its own, marked postgres and redis). The fake
(tests/http/fake.py) keeps jobs and users in memory and records every call made to it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from jobkeeper.settings import Settings
from tests.conftest import SCALED_MARKS, backend_settings
from tests.http.fake import FakeService

PUBLIC_ROUTES = frozenset(
    {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/assets/{asset}"}
)
"""The routes that answer without a token: exactly these (the routes' `public` flags say so)."""
MAX_BODY = 4096
SHORT = {"kind": "sleep", "params": {"seconds": 0.3, "step": 0.1}}
LONG = {"kind": "sleep", "params": {"seconds": 60, "step": 0.05}}
LATER = "2999-01-01T00:00:00Z"
JSON_BODY = {"Content-Type": "application/json"}
BACKENDS = ["embedded", pytest.param("scaled", marks=SCALED_MARKS)]
_names = itertools.count(1)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header that carries `token`."""
    return {"Authorization": f"Bearer {token}"}


def client_of(app: Any, token: str | None = None) -> falcon.testing.TestClient:
    """A client of `app` that sends `token` (none: an anonymous one)."""
    return falcon.testing.TestClient(app, headers=bearer(token) if token is not None else None)


class Api:
    """The test client (as admin) plus the waits every test needs (polling with a deadline)."""

    SHORT, LONG, MAX_BODY = SHORT, LONG, MAX_BODY

    def __init__(
        self, client: falcon.testing.TestClient, runtime: Runtime, admin_token: str
    ) -> None:
        self.client, self.runtime = client, runtime
        self.headers = bearer(admin_token)
        self.tokens: dict[str, str] = {"admin": admin_token}

    def submit(self, **body: Any) -> dict[str, Any]:
        """Submit a job (as admin); its JSON, after asserting 201."""
        result = self.client.simulate_post("/api/v1/jobs", json=body)
        assert result.status_code == 201, result.json
        job: dict[str, Any] = result.json
        return job

    def job(self, job_id: int) -> dict[str, Any]:
        """GET /jobs/{id}."""
        job: dict[str, Any] = self.client.simulate_get(f"/api/v1/jobs/{job_id}").json
        return job

    def history(self, job_id: int) -> list[dict[str, Any]]:
        """GET /jobs/{id}/history: the job's events."""
        items: list[dict[str, Any]] = []
        after: int | None = None
        while True:
            params = {"limit": 1000} if after is None else {"limit": 1000, "after": after}
            page = self.client.simulate_get(f"/api/v1/jobs/{job_id}/history", params=params)
            assert page.status_code == 200, page.json
            items += page.json["items"]
            after = page.json["next_after"]
            if after is None:
                return items

    def wait_for_status(self, job_id: int, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        """The job once its status is one of `statuses`."""
        job: dict[str, Any] = wait_until(
            lambda: (job := self.job(job_id))["status"] in statuses and job, timeout
        )
        return job

    def new_user(self, role: str = "user") -> str:
        """A user of this test alone (its first token kept in `tokens`)."""
        name = f"user{next(_names)}"
        result = self.client.simulate_post("/api/v1/users", json={"name": name, "role": role})
        assert result.status_code == 201, result.json
        self.tokens[name] = result.json["token"]["token"]
        return name

    def as_user(self, name: str) -> falcon.testing.TestClient:
        """A client of the same app that sends `name`'s token."""
        return falcon.testing.TestClient(self.client.app, headers=bearer(self.tokens[name]))


def recorded_since(runtime: Runtime, position: int, by: str | None = None) -> list[str]:
    """The types of the events recorded after `position` (those `by` caused, if given); jobs
    of earlier tests may still record their own, so tests look for a user's."""
    notifications = runtime.app.recorder.select_notifications(
        position, 100_000, inclusive_of_start=False
    )
    events = [runtime.app.mapper.to_domain_event(n) for n in notifications]
    return [type(e).__name__ for e in events if by is None or getattr(e, "by", None) == by]


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    """Poll `condition` until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)
    return value


@contextmanager
def running(data: Path, backend: str, **overrides: Any) -> Iterator[Runtime]:
    """A started runtime on `backend` ("embedded" or "scaled") with its data in `data`."""
    with backend_settings(backend) as settings:
        values = {"checkpoint_interval": 0.1, "poll_interval": 0.2, **settings, **overrides}
        runtime = Runtime(Settings(data=data, **values))
        runtime.start()
        try:
            yield runtime
        finally:
            runtime.close(timeout=5)


@pytest.fixture(scope="package", params=BACKENDS)
def runtime(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    with running(tmp_path_factory.mktemp("data"), request.param) as rt:
        yield rt


@pytest.fixture(scope="package")
def admin_token(runtime: Runtime) -> str:
    """The token the first start issued to admin."""
    assert runtime.admin_token is not None
    return runtime.admin_token


@pytest.fixture(scope="package")
def client(runtime: Runtime, admin_token: str) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(
        create_app(runtime, max_body=MAX_BODY), headers=bearer(admin_token)
    )


@pytest.fixture(scope="package")
def api(client: falcon.testing.TestClient, runtime: Runtime, admin_token: str) -> Api:
    return Api(client, runtime, admin_token)


@pytest.fixture
def user(api: Api) -> str:
    return api.new_user()


# The HTTP layer alone, on a fake of the application's port.


@pytest.fixture(scope="package")
def fake_service() -> FakeService:
    return FakeService()


@pytest.fixture(scope="package")
def fake_app(fake_service: FakeService) -> falcon.App[falcon.Request, falcon.Response]:
    """One app over the fake service for the session: each build (its OpenAPI document) takes
    about 50 ms, and `fake` resets the service under it."""
    return create_app(fake_service, max_body=MAX_BODY)


@pytest.fixture
def fake(fake_service: FakeService) -> FakeService:
    """The fake service as new: admin and its token, no jobs, no calls recorded."""
    fake_service.reset()
    return fake_service


@pytest.fixture
def fake_client(
    fake: FakeService, fake_app: falcon.App[falcon.Request, falcon.Response]
) -> falcon.testing.TestClient:
    """A client of the app over the fake service, sending admin's token."""
    return client_of(fake_app, fake.tokens["admin"])
