"""GET /metrics: who may read it, and that each metric moves with what it counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import falcon.testing
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from jobkeeper.http.rate_limits import RateLimits
from tests.conftest import fast_settings
from tests.http.conftest import wait_until

METRICS_TOKEN = "scrape-only-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(fast_settings(tmp_path))
    runtime.start()
    yield runtime
    runtime.close()


@pytest.fixture
def client(runtime: Runtime) -> falcon.testing.TestClient:
    app = create_app(
        runtime, metrics_token=METRICS_TOKEN, rate_limits=RateLimits("3/minute", "off")
    )
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {runtime.admin_token}"})


def scrape(client: falcon.testing.TestClient, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    result = client.simulate_get("/metrics", headers=headers)
    assert result.status_code == 200, result.text
    assert result.headers["Content-Type"].startswith("text/plain")
    return result.text


def test_metrics_need_an_admin_token_or_the_metrics_token(
    client: falcon.testing.TestClient,
) -> None:
    anonymous = falcon.testing.TestClient(client.app)
    assert anonymous.simulate_get("/metrics").status_code == 401
    assert anonymous.simulate_get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    user = client.simulate_post("/api/v1/users", json={"name": "watcher"}).json["token"]["token"]
    refused = anonymous.simulate_get("/metrics", headers={"Authorization": f"Bearer {user}"})
    assert refused.status_code == 403 and "JOBKEEPER_METRICS_TOKEN" in refused.json["description"]
    assert "jobkeeper_jobs" in scrape(anonymous, METRICS_TOKEN)
    assert "jobkeeper_jobs" in scrape(client)


def test_counters_and_gauges_follow_what_happens(
    runtime: Runtime, client: falcon.testing.TestClient
) -> None:
    before = scrape(client)
    job = client.simulate_post(
        "/api/v1/jobs", json={"kind": "sleep", "params": {"seconds": 0.2, "step": 0.05}}
    ).json
    client.simulate_post("/api/v1/jobs", json={"kind": "no-such-kind"})
    client.simulate_get("/api/v1/jobs/999")
    wait_until(lambda: runtime.app.get_job(job["id"]).status.value == "succeeded")
    client.simulate_post(f"/api/v1/jobs/{job['id']}/stop")  # not allowed: it succeeded
    runtime.views.wait(runtime.app.position())
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("jobkeeper_submits_total", kind="sleep", outcome="recorded") == 1
    assert delta("jobkeeper_submits_total", kind="other", outcome="InvalidJobError") == 1
    assert delta("jobkeeper_commands_total", command="stop", outcome="TransitionError") == 1
    assert delta(
        "jobkeeper_http_requests_total", route="/api/v1/jobs/{job_id}", method="GET", status="404"
    ) == 1
    assert delta(
        "jobkeeper_http_request_duration_seconds_count", route="/api/v1/jobs", method="POST"
    ) == 2
    assert delta("jobkeeper_job_step_duration_seconds_count", kind="sleep") >= 4
    assert value(after, "jobkeeper_jobs", status="succeeded", kind="sleep") == 1
    assert value(after, "jobkeeper_workers_live") == 1
    assert value(after, "jobkeeper_projection_lag_events") == 0
    assert ("jobkeeper_projection_lag_seconds", ()) in samples(after)
    assert value(after, "jobkeeper_jobs_waiting") == 0


def test_waiting_and_running_jobs_and_refusals_are_counted(
    runtime: Runtime, client: falcon.testing.TestClient
) -> None:
    long = {"kind": "sleep", "params": {"seconds": 30, "step": 0.05}}
    job = client.simulate_post("/api/v1/jobs", json=long).json
    wait_until(lambda: runtime.app.get_job(job["id"]).status.value == "running")
    runtime.views.wait(runtime.app.position())
    text = scrape(client)
    assert value(text, "jobkeeper_worker_running_jobs", worker=runtime.worker_id) == 1
    assert value(text, "jobkeeper_jobs", status="running", kind="sleep") == 1
    before = value(text, "jobkeeper_rate_limited_total", budget="commands")
    for _ in range(4):  # the budget is 3 commands a minute; one was spent above
        client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")
    assert value(scrape(client), "jobkeeper_rate_limited_total", budget="commands") - before >= 1


def test_due_queued_jobs_with_no_worker_are_waiting(tmp_path: Path) -> None:
    runtime = Runtime(fast_settings(tmp_path), run_jobs=False)  # an API process: no worker here
    runtime.start()
    try:
        due = runtime.app.submit(kind="sleep", params={"seconds": 1}, owner="admin", by="admin")
        later = datetime.now(UTC) + timedelta(hours=1)
        runtime.app.submit(kind="sleep", params={"seconds": 1}, owner="admin", by="admin", not_before=later)
        runtime.views.wait(runtime.app.position())
        snapshot = runtime.metrics_snapshot()
        assert snapshot.waiting == 1 and due.job.status.value == "queued"
        assert ("queued", "sleep", 2) in snapshot.jobs
        assert snapshot.live_workers == 0
    finally:
        runtime.close()
