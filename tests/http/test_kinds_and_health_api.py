"""The kinds list, the health check and the readiness check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import falcon.testing

from jobkeeper.application.readiness import Readiness
from jobkeeper.bootstrap import Runtime
from jobkeeper.settings import Settings
from tests.http.conftest import wait_until

if TYPE_CHECKING:
    from tests.http.conftest import Api
    from tests.http.fake import FakeService


def test_kinds_list_every_registered_kind_with_its_params_schema(api: Api) -> None:
    result = api.client.simulate_get("/api/v1/kinds")
    assert result.status_code == 200
    kinds = {k["name"]: k for k in result.json["items"]}
    assert {"sleep", "primes", "fail"} <= set(kinds)
    sleep = kinds["sleep"]
    assert set(sleep) == {"name", "summary", "params_schema"}
    assert sleep["summary"]
    assert "seconds" in sleep["params_schema"]["properties"]
    assert "seconds" in sleep["params_schema"]["required"]


def test_healthz_answers_ok(api: Api) -> None:
    result = api.client.simulate_get("/healthz")
    assert result.status_code == 200
    assert result.json == {"status": "ok"}


def test_readyz_answers_200_with_every_check_and_needs_no_token(api: Api) -> None:
    result = falcon.testing.TestClient(api.client.app).simulate_get("/readyz")
    assert result.status_code == 200, result.json
    assert result.json["status"] == "ready"
    checks = result.json["checks"]
    assert checks["event store"] == checks["views"] == "ok"
    scaled = api.runtime.settings.broker_url != "memory://"
    assert ("broker" in checks) is scaled


def test_readyz_answers_503_naming_what_is_not_ready(
    fake: FakeService, fake_client: falcon.testing.TestClient
) -> None:
    fake.readiness = Readiness(
        {"event store": lambda: None, "broker": lambda: "cannot reach the broker redis://x"}
    )
    result = fake_client.simulate_get("/readyz")
    assert result.status_code == 503
    assert result.headers["Retry-After"] == "5"
    assert result.json == {
        "title": "Not ready",
        "description": "broker: cannot reach the broker redis://x",
        "checks": {"event store": "ok", "broker": "cannot reach the broker redis://x"},
    }


def test_readyz_fails_while_the_views_lag_and_names_a_dead_broker(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, ready_max_lag=0.001, broker_url="redis://127.0.0.1:9/0")
    runtime = Runtime(settings, run_jobs=False, run_views=False)  # no projector: views stay behind
    try:
        runtime.app.ensure_admin()
        report = wait_until(lambda: (r := runtime.readiness.report()).checks["views"] != "ok" and r)
        assert "behind the event log" in report.checks["views"]
        assert "cannot reach the broker" in report.checks["broker"]
        assert report.checks["event store"] == "ok"
    finally:
        runtime.close()
