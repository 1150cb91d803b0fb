"""Structured logs: one JSON object per line, with the request's or the job's context, and
never a token."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import orjson
import pytest
from pydantic import BaseModel

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from jobkeeper.kinds.kind import Kind, Step
from jobkeeper.observability import logs
from tests.conftest import fast_settings, running_with_kinds
from tests.http.conftest import wait_until


class Lines(logging.Handler):
    """Every line logged while it is attached, formatted as JSON."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def objects(self, logger: str | None = None) -> list[dict[str, Any]]:
        parsed = [orjson.loads(line) for line in self.lines]
        return [p for p in parsed if logger is None or p["logger"] == logger]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    access = logging.getLogger(logs.ACCESS_LOGGER)
    old_levels = root.level, access.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    access.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_levels[0])
    access.setLevel(old_levels[1])


def test_a_json_line_has_time_level_logger_message_and_the_context() -> None:
    formatter = logs.JsonFormatter()
    record = logging.LogRecord("jobkeeper.x", logging.WARNING, __file__, 1, "job %d: %s", (7, "ü"), None)
    with logs.context(request_id="r-1", user="ann"):
        line = orjson.loads(formatter.format(record))
    assert line["level"] == "warning" and line["logger"] == "jobkeeper.x"
    assert line["message"] == "job 7: ü"
    assert line["time"].endswith("+00:00")
    assert (line["request_id"], line["user"]) == ("r-1", "ann")
    assert "job_id" not in line  # fields that do not apply are left out
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in orjson.loads(formatter.format(record))["exception"]


def test_text_lines_name_the_request_or_job() -> None:
    record = logging.LogRecord("jobkeeper.x", logging.INFO, __file__, 1, "hello", (), None)
    with logs.context(job_id=3, run_id="r9"):
        assert logs.TextFormatter().format(record).endswith("hello [job_id=3 run_id=r9]")
    assert logs.TextFormatter().format(record).endswith("hello")


def test_requests_get_an_id_and_one_access_line_with_no_token(
    tmp_path: Path, lines: Lines
) -> None:
    runtime = Runtime(fast_settings(tmp_path))
    runtime.start()
    try:
        token = runtime.admin_token
        assert token is not None
        client = falcon.testing.TestClient(
            create_app(runtime), headers={"Authorization": f"Bearer {token}"}
        )
        given = client.simulate_get("/api/v1/jobs/running", headers={"X-Request-Id": "abc-123"})
        assert given.headers["X-Request-Id"] == "abc-123"
        made = client.simulate_get("/api/v1/jobs/999")
        assert made.status_code == 404 and len(made.headers["X-Request-Id"]) == 32
        bad = client.simulate_get("/healthz", headers={"X-Request-Id": "no spaces allowed"})
        assert bad.headers["X-Request-Id"] != "no spaces allowed"
        anonymous = falcon.testing.TestClient(create_app(runtime))
        refused = anonymous.simulate_get(
            f"/api/v1/jobs?token={token}", headers={"Authorization": f"Bearer {token}x"}
        )
        assert refused.status_code == 401 and refused.headers["X-Request-Id"]
        client.simulate_post("/api/v1/jobs", json={"kind": "sleep", "params": {"seconds": 0.1}})
    finally:
        runtime.close()
    access = lines.objects(logs.ACCESS_LOGGER)
    first = access[0]
    assert first["request_id"] == "abc-123"
    assert (first["method"], first["route"], first["status"]) == (
        "GET", "/api/v1/jobs/running", 200
    )  # fmt: skip
    assert first["user"] == "admin" and first["duration_ms"] >= 0
    assert access[1]["route"] == "/api/v1/jobs/{job_id}" and access[1]["status"] == 404
    assert access[3]["status"] == 401 and "user" not in access[3]
    assert all(token not in line for line in lines.lines)
    assert any(line["route"] == "/api/v1/jobs" and line["status"] == 201 for line in access)


class Noisy(BaseModel):
    pass


def noisy(ctx: Any) -> Any:
    logging.getLogger("jobkeeper.test").warning("a step of a noisy job")
    yield Step(1.0, None)
    return {"done": True}


def test_lines_logged_by_a_running_job_name_the_job_run_and_worker(
    tmp_path: Path, lines: Lines
) -> None:
    with running_with_kinds(tmp_path, Kind("noisy", "logs a line", Noisy, noisy)) as runtime:
        job = runtime.app.submit(kind="noisy", params={}, owner="admin", by="admin").job
        wait_until(lambda: runtime.app.get_job(job.number).status.value == "succeeded")
        run_id = runtime.app.get_job(job.number).run_id
    [line] = lines.objects("jobkeeper.test")
    assert line["job_id"] == job.number
    assert line["worker"] == runtime.worker_id
    assert line["run_id"] and (run_id is None or line["run_id"] == run_id)
