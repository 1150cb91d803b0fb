"""The older service's paths on a real runtime behind a Falcon TestClient (as admin), with the older service's own
steps; embedded and scaled, like the v1 API's tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import falcon.testing
import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from tests.http.conftest import BACKENDS, bearer, running, wait_until

MAX_BODY = 4096
START = "2021-10-10T10:00:00"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LEGACY_FIELDS = {
    "id", "progress", "status", "created", "start_time", "end_time", "job_type", "job_name",
    "user", "finished",
}  # fmt: skip
_names = itertools.count(1)


def end_after(seconds: int) -> str:
    """The end time `seconds` after START, in the older service's format."""
    hours, rest = divmod(10 * 3600 + seconds, 3600)
    days, hours = divmod(hours, 24)
    minutes, secs = divmod(rest, 60)
    return f"2021-10-{10 + days:02d}T{hours:02d}:{minutes:02d}:{secs:02d}"


class Legacy:
    """A client (as admin) that speaks the older service's paths (forms, as its clients posted), and
    reads v1."""

    def __init__(self, client: falcon.testing.TestClient, runtime: Runtime) -> None:
        self.client, self.runtime = client, runtime

    def as_user(self, name: str) -> falcon.testing.TestClient:
        """A client of the same app with a new token of `name` (issued by admin over v1)."""
        issued = self.client.simulate_post(f"/api/v1/users/{name}/tokens", json={"label": "test"})
        assert issued.status_code == 201, issued.json
        return falcon.testing.TestClient(self.client.app, headers=bearer(issued.json["token"]))

    def history(self, job_id: int) -> list[dict[str, Any]]:
        """The job's events, through v1."""
        items: list[dict[str, Any]] = self.client.simulate_get(
            f"/api/v1/jobs/{job_id}/history"
        ).json["items"]
        return items

    def post_form(self, path: str, fields: dict[str, Any]) -> falcon.testing.Result:
        """POST `fields` urlencoded, as an HTML form would."""
        return self.client.simulate_post(path, body=urlencode(fields), headers=FORM)

    def new_user(self, **fields: str) -> dict[str, Any]:
        """A user of this test alone, created through /api/userlist/."""
        body = {"name": f"legacyuser{next(_names)}", "surname": "Doe", "title": "Analyst", **fields}
        result = self.post_form("/api/userlist/", body)
        assert result.status_code == 201, result.json
        user: dict[str, Any] = result.json
        return user

    def create_job(self, user: str | int, seconds: int, **fields: Any) -> dict[str, Any]:
        """A job through /api/createjob/ that runs `seconds`; its legacy JSON after a 201."""
        body = {
            "job_name": "nightly", "job_type": "Product matching", "start_time": START,
            "end_time": end_after(seconds), "user": user, **fields,
        }  # fmt: skip
        result = self.post_form("/api/createjob/", body)
        assert result.status_code == 201, result.json
        job: dict[str, Any] = result.json
        return job

    def detail(self, job_id: int) -> dict[str, Any]:
        """GET /api/getdetailedjob/{id}."""
        result = self.client.simulate_get(f"/api/getdetailedjob/{job_id}")
        assert result.status_code == 200, result.json
        job: dict[str, Any] = result.json
        return job

    def v1(self, job_id: int) -> dict[str, Any]:
        """The job's real state, through the v1 API."""
        job: dict[str, Any] = self.client.simulate_get(f"/api/v1/jobs/{job_id}").json
        return job

    def wait_v1(self, job_id: int, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        """The v1 job once its status is one of `statuses`."""
        job: dict[str, Any] = wait_until(
            lambda: (job := self.v1(job_id))["status"] in statuses and job, timeout
        )
        return job


@pytest.fixture(scope="package", params=BACKENDS)
def legacy_runtime(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    with running(tmp_path_factory.mktemp("legacy"), request.param) as runtime:
        yield runtime


@pytest.fixture(scope="package")
def legacy(legacy_runtime: Runtime) -> Legacy:
    assert legacy_runtime.admin_token is not None
    app = create_app(legacy_runtime, max_body=MAX_BODY)
    client = falcon.testing.TestClient(app, headers=bearer(legacy_runtime.admin_token))
    return Legacy(client, legacy_runtime)


@pytest.fixture
def user(legacy: Legacy) -> dict[str, Any]:
    return legacy.new_user()
