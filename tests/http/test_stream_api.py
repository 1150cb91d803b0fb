"""Server-sent events of a job until it finishes, resumable with Last-Event-ID."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import falcon.testing
import orjson

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from jobkeeper.http.v1.stream import JobStream
from jobkeeper.settings import Settings
from tests.http.conftest import LATER, LONG, bearer

if TYPE_CHECKING:
    from tests.http.conftest import Api


def parse(body: str) -> list[dict[str, Any]]:
    """The SSE messages of a body: id, event and decoded data (comments kept as `comment`)."""
    messages: list[dict[str, Any]] = []
    for block in body.split("\n\n"):
        if not block:
            continue
        if block.startswith(":"):
            messages.append({"comment": block[1:].strip()})
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        messages.append(
            {
                "id": int(fields["id"]),
                "event": fields["event"],
                "data": orjson.loads(fields["data"]),
            }
        )
    return messages


def test_stream_follows_a_short_job_to_its_end(api: Api) -> None:
    job = api.submit(**api.SHORT)
    result = api.client.simulate_get(f"/api/v1/jobs/{job['id']}/stream")
    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("text/event-stream")
    messages = parse(result.text)
    statuses = [m["data"]["status"] for m in messages if m["event"] == "status"]
    assert statuses[-1] == "succeeded" and "running" in statuses
    assert messages[-1]["event"] == "status"
    assert messages[-1]["data"] == api.job(job["id"])  # the same body as GET
    ids = [m["id"] for m in messages]
    assert ids == sorted(ids)
    progress = [m["data"]["progress"] for m in messages if m["event"] == "progress"]
    assert progress and progress == sorted(progress)
    logs = [m["data"] for m in messages if m["event"] == "log"]
    assert [line["text"] for line in logs][-1] == "slept 0.3 seconds"
    assert [line["line"] for line in logs] == list(range(1, len(logs) + 1))


def test_stream_resumes_after_last_event_id(api: Api) -> None:
    job = api.submit(**api.SHORT)
    done = api.wait_for_status(job["id"], "succeeded")
    path = f"/api/v1/jobs/{job['id']}/stream"
    whole = parse(api.client.simulate_get(path, headers={"Last-Event-ID": "0"}).text)
    assert whole[0]["id"] == 1 and whole[0]["data"]["status"] == "queued"
    resumed = parse(api.client.simulate_get(path, headers={"Last-Event-ID": "2"}).text)
    assert resumed == [m for m in whole if m["id"] > 2]
    at_end = api.client.simulate_get(path, headers={"Last-Event-ID": str(done["version"])})
    assert at_end.status_code == 200 and at_end.text == ""


def test_stream_of_a_finished_job_is_its_status_alone(api: Api) -> None:
    job = api.submit(**api.SHORT)
    done = api.wait_for_status(job["id"], "succeeded")
    messages = parse(api.client.simulate_get(f"/api/v1/jobs/{job['id']}/stream").text)
    assert messages == [{"id": done["version"], "event": "status", "data": done}]


def test_stream_answers_404_and_400_before_streaming(api: Api) -> None:
    assert api.client.simulate_get("/api/v1/jobs/5555555/stream").status_code == 404
    job = api.submit(**api.SHORT)
    for bad in ("x", "-1", "1.5", "9" * 40, "١٢"):
        result = api.client.simulate_get(
            f"/api/v1/jobs/{job['id']}/stream", headers={"Last-Event-ID": bad}
        )
        assert result.status_code == 400, bad
        assert "Last-Event-ID" in result.json["description"]


def test_a_client_leaving_closes_the_stream(api: Api) -> None:
    job = api.submit(**api.LONG)
    app = create_app(api.runtime)
    environ = falcon.testing.create_environ(f"/api/v1/jobs/{job['id']}/stream", headers=api.headers)
    body: Any = app(environ, lambda status, headers, exc_info=None: lambda data: None)
    chunks = iter(body)
    assert next(chunks).startswith(b"id: ")
    started = time.monotonic()
    body.close()  # what a WSGI server does when the client is gone
    assert time.monotonic() - started < 1
    assert next(chunks, None) is None
    api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")
    api.wait_for_status(job["id"], "cancelled")


def test_an_idle_stream_sends_keep_alive_comments(api: Api) -> None:
    job = api.submit(**api.SHORT, not_before="2999-01-01T00:00:00Z")
    stream = JobStream(api.runtime, poll=0.01, keepalive=0.1)
    messages = stream.messages(api.runtime.app.get_job(job["id"]), None)
    assert next(messages).startswith(b"id: 1\nevent: status\n")
    started = time.monotonic()
    assert next(messages) == b": keep-alive\n\n"
    assert 0.05 < time.monotonic() - started < 2
    messages.close()
    api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")


def test_a_closing_service_ends_its_open_streams_at_once(api: Api) -> None:
    job = api.submit(**api.SHORT, not_before=LATER)
    service: Any = SimpleNamespace(app=api.runtime.app, closing=threading.Event())
    messages = JobStream(service, poll=5.0, keepalive=60).messages(
        api.runtime.app.get_job(job["id"]), None
    )
    assert next(messages).startswith(b"id: 1\nevent: status\n")
    threading.Timer(0.2, service.closing.set).start()
    started = time.monotonic()
    assert next(messages, None) is None  # the stream ends instead of waiting out its poll
    assert time.monotonic() - started < 2
    api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")


def test_closing_the_runtime_ends_the_streams_it_serves(tmp_path: Path) -> None:
    runtime = Runtime(Settings(data=tmp_path, checkpoint_interval=0.1, poll_interval=0.2))
    runtime.start()
    assert runtime.admin_token is not None and not runtime.closing.is_set()
    client = falcon.testing.TestClient(create_app(runtime), headers=bearer(runtime.admin_token))
    job = client.simulate_post("/api/v1/jobs", json={**LONG, "not_before": LATER}).json
    environ = falcon.testing.create_environ(
        f"/api/v1/jobs/{job['id']}/stream", headers=bearer(runtime.admin_token)
    )
    body: Any = client.app(environ, lambda status, headers, exc_info=None: lambda data: None)
    chunks = iter(body)
    assert next(chunks).startswith(b"id: ")
    closer = threading.Thread(target=runtime.close, kwargs={"timeout": 5})
    closer.start()
    started = time.monotonic()
    assert next(chunks, None) is None
    assert time.monotonic() - started < 2 and runtime.closing.is_set()
    body.close()
    closer.join(30)
