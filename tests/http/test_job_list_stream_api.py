"""GET /jobs/stream: the changes of a filtered job list as server-sent events; the stream cap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import falcon.testing
import orjson
import pytest

from jobkeeper.http.app import create_app
from jobkeeper.http.v1 import stream as stream_module
from tests.http.conftest import LATER, bearer

if TYPE_CHECKING:
    from tests.http.conftest import Api

SECONDS = 15.0  # every stream here ends by itself after this long, if a test fails to close it


class Stream:
    """One open stream, read message by message in the test's thread."""

    def __init__(self, app: Any, path: str, query: str = "", headers: Any = None) -> None:
        environ = falcon.testing.create_environ(path, query_string=query, headers=headers)
        self.status: list[str] = []
        self.body: Any = app(
            environ, lambda status, headers, exc_info=None: self.status.append(status)
        )
        self.chunks: Iterator[bytes] = iter(self.body)
        self.pending: list[dict[str, Any]] = []

    @property
    def code(self) -> int:
        return int(self.status[0].split()[0])

    def next(self) -> dict[str, Any] | None:
        """The next message (comments skipped), or None when the stream ended."""
        while not self.pending:
            chunk = next(self.chunks, None)
            if chunk is None:
                return None
            for block in chunk.decode().split("\n\n"):
                lines = [line for line in block.split("\n") if line and not line.startswith(":")]
                fields = dict(line.split(": ", 1) for line in lines)
                if "event" in fields:
                    data = orjson.loads(fields["data"])
                    self.pending.append(
                        {"id": int(fields["id"]), "event": fields["event"], "data": data}
                    )
        return self.pending.pop(0)

    def until(self, job_id: int, status: str) -> list[dict[str, Any]]:
        """Every message up to the one showing job `job_id` in `status`."""
        seen = []
        while (found := self.next()) is not None:
            seen.append(found)
            if found["data"].get("id") == job_id and found["data"].get("status") == status:
                return seen
        raise AssertionError(f"the stream ended before job {job_id} was {status}: {seen}")

    def close(self) -> None:
        self.body.close()


@pytest.fixture(scope="module")
def stream_app(api: Api) -> Any:
    return create_app(api.runtime, stream_seconds=SECONDS, max_streams_per_user=3)


def open_list(app: Any, api: Api, query: str = "", **headers: str) -> Stream:
    return Stream(app, "/api/v1/jobs/stream", query, {**api.headers, **headers})


def listed(api: Api, job_id: int) -> dict[str, Any]:
    items = api.client.simulate_get("/api/v1/jobs", params={"limit": 1000}).json["items"]
    return next(item for item in items if item["id"] == job_id)


def test_job_list_stream_sends_new_and_changed_jobs_as_the_list_shows_them(
    api: Api, stream_app: Any
) -> None:
    stream = open_list(stream_app, api)
    assert stream.code == 200
    job = api.submit(**api.SHORT)
    seen = [m for m in stream.until(job["id"], "succeeded") if m["data"]["id"] == job["id"]]
    stream.close()
    assert {m["event"] for m in seen} == {"job"}
    assert seen[-1]["data"] == listed(api, job["id"])  # exactly as an item of GET /jobs
    ids = [m["id"] for m in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_job_list_stream_filters_as_the_list_does_and_says_when_a_job_leaves(
    api: Api, stream_app: Any
) -> None:
    cancelled = open_list(stream_app, api, "status=cancelled&status=failed&owner=admin&q=NeEdLe")
    queued = open_list(stream_app, api, "status=queued&kind=sleep")
    match = api.submit(**api.SHORT, name="a needle here", not_before=LATER)
    other = api.submit(**api.SHORT, name="other", not_before=LATER)
    first = queued.next()
    assert first is not None and first["event"] == "job" and first["data"]["id"] == match["id"]
    for job in (other, match):
        api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")
    seen = cancelled.until(match["id"], "cancelled")
    assert [m["data"]["id"] for m in seen] == [match["id"]]  # `other` is not in that list
    left = queued.until(match["id"], "cancelled")
    assert left[-1]["event"] == "leave" and left[-1]["data"] == listed(api, match["id"])
    cancelled.close()
    queued.close()


def test_job_list_stream_resumes_after_last_event_id_without_gaps(
    api: Api, stream_app: Any
) -> None:
    stream = open_list(stream_app, api, "kind=sleep")
    first = api.submit(**api.SHORT, not_before=LATER)
    message = stream.next()
    assert message is not None and message["data"]["id"] == first["id"]
    stream.close()
    second = api.submit(**api.SHORT, not_before=LATER)  # while the client is away
    api.client.simulate_post(f"/api/v1/jobs/{first['id']}/cancel")
    resumed = open_list(stream_app, api, "kind=sleep", **{"Last-Event-ID": str(message["id"])})
    replayed = [resumed.next(), resumed.next()]
    resumed.close()
    assert [m["data"]["id"] for m in replayed if m] == [second["id"], first["id"]]
    assert [m["data"]["status"] for m in replayed if m] == ["queued", "cancelled"]
    api.client.simulate_post(f"/api/v1/jobs/{second['id']}/cancel")


def test_job_list_stream_too_far_behind_says_reset(
    api: Api, stream_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.submit(**api.SHORT, not_before=LATER)
    api.submit(**api.SHORT, not_before=LATER)
    monkeypatch.setattr(stream_module, "MAX_REPLAY", 1)
    stream = open_list(stream_app, api, **{"Last-Event-ID": "0"})
    message = stream.next()
    stream.close()
    assert message is not None and message["event"] == "reset"
    assert message["id"] == message["data"]["position"] > 1


def test_job_list_stream_answers_400_on_bad_input(api: Api) -> None:
    for query, headers, word in (
        ("status=bogus", {}, "status"),
        ("status=queued&q=", {}, "q"),
        ("", {"Last-Event-ID": "x"}, "Last-Event-ID"),
    ):
        result = api.client.simulate_get("/api/v1/jobs/stream", query_string=query, headers=headers)
        assert result.status_code == 400, query
        assert word in result.json["description"]


def test_job_list_stream_needs_a_token(api: Api) -> None:
    client = falcon.testing.TestClient(api.client.app)
    assert client.simulate_get("/api/v1/jobs/stream").status_code == 401


def test_streams_beyond_a_users_cap_answer_429_until_one_closes(api: Api, stream_app: Any) -> None:
    job = api.submit(**api.SHORT, not_before=LATER)
    path = f"/api/v1/jobs/{job['id']}/stream"
    opened = [
        open_list(stream_app, api),
        *(Stream(stream_app, path, "", api.headers) for _ in "12"),
    ]
    assert [s.code for s in opened] == [200, 200, 200]
    refused = falcon.testing.TestClient(stream_app, headers=api.headers).simulate_get(path)
    assert refused.status_code == 429
    assert "3 open event streams" in refused.json["description"]
    assert refused.headers["Retry-After"]
    other = api.new_user()
    theirs = Stream(stream_app, "/api/v1/jobs/stream", "", bearer(api.tokens[other]))
    assert theirs.code == 200  # the cap is per user
    opened.pop().close()
    again = Stream(stream_app, path, "", api.headers)
    assert again.code == 200
    for stream in (*opened, theirs, again):
        stream.close()
    api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")
