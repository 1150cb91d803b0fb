"""No input of any shape answers 500: bad bodies, query strings, headers and paths.

The HTTP layer alone, on the fake application (tests/http/fake.py): an input refused here
must not reach the application with anything that would change state.
"""

from __future__ import annotations

import io
import itertools
import logging
from typing import Any

import falcon.testing
import orjson
import pytest

from tests.http.conftest import MAX_BODY, bearer
from tests.http.fake import FakeService

Client = falcon.testing.TestClient
JSON = {"Content-Type": "application/json"}
URLENCODED = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{", "Malformed JSON"),
        (b"", "Missing body"),
        (b"   \n", "Missing body"),
        (b"[]", "not list"),
        (b"null", "not null"),
        (b"1", "not int"),
        (b'"sleep"', "not str"),
        (b"true", "not bool"),
        (b'{"kind": "sleep", "params": {"seconds": 1e400}}', "Malformed JSON"),
        (b'{"kind": "sleep", "params": {"seconds": NaN}}', "Malformed JSON"),
        (b'{"kind": "sl\\ud800eep"}', "Malformed JSON"),
        (b'{"kind": "sleep"}\xff', "Malformed JSON"),
        (b'{"kind": "sleep", "params": ' + b"[" * 1100 + b"]" * 1100 + b"}", "Malformed JSON"),
    ],
)
def test_bodies_that_are_not_json_objects_answer_400(
    fake: FakeService, fake_client: Client, body: bytes, words: str
) -> None:
    for path in ("/api/v1/jobs", "/api/v1/users"):
        result = fake_client.simulate_post(path, body=body, headers=JSON)
        assert result.status_code == 400, path
        assert words in result.json["title"] + result.json["description"]
    assert fake.app.changes() == []


@pytest.mark.parametrize("number", [2**64, 2**70 + 1, -(2**63) - 1, int("9" * 300)])
def test_integers_beyond_64_bits_are_refused_not_rounded(
    fake: FakeService, fake_client: Client, number: int
) -> None:
    body = b'{"kind": "sleep", "params": {"seconds": 1, "extra": [%d]}}' % number
    result = fake_client.simulate_post("/api/v1/jobs", body=body, headers=JSON)
    assert result.status_code == 400
    assert "params.extra[0]: the integer" in result.json["description"]
    assert "does not fit in 64 bits" in result.json["description"]
    assert str(number)[:20] in result.json["description"]
    assert fake.app.changes() == []


def test_a_deeply_nested_body_with_a_long_number_answers_400(
    fake: FakeService, fake_client: Client
) -> None:
    nested = b"[" * 1000 + b"1234567890123456789" + b"]" * 1000
    body = b'{"kind": "sleep", "params": {"seconds": 1, "deep": ' + nested + b"}}"
    result = fake_client.simulate_post("/api/v1/jobs", body=body, headers=JSON)
    assert result.status_code == 400
    assert "nests too deeply" in result.json["description"]
    assert fake.app.changes() == []


def test_long_digit_runs_in_text_and_the_largest_integers_are_read_exactly() -> None:
    from jobkeeper.http.media import from_json

    body = f'{{"a": "{"7" * 30}", "b": [{2**64 - 1}, {-(2**63)}], "c": 1e25}}'
    assert from_json(body) == {"a": "7" * 30, "b": [2**64 - 1, -(2**63)], "c": 1e25}
    assert type(from_json(body)["b"][0]) is int


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": 5}, "kind"),
        ({"kind": None}, "kind"),
        ({"kind": ["sleep"]}, "kind"),
        ({"kind": ""}, "kind"),
        ({"kind": "sleep", "params": []}, "params"),
        ({"kind": "sleep", "params": None}, "params"),
        ({"kind": "sleep", "params": "seconds=1"}, "params"),
        ({"kind": "sleep", "params": {"seconds": "1e308"}}, "seconds"),
        ({"kind": "sleep", "params": {"seconds": 1e308}}, "seconds"),
        ({"kind": "sleep", "params": {"seconds": 10**30}}, "seconds"),
        ({"kind": "sleep", "params": {"seconds": 18446744073709551615}}, "seconds"),
        ({"kind": "primes", "params": {"limit": -(2**63)}}, "limit"),
        ({"kind": "sleep", "params": {"seconds": 1}, "name": 5}, "name"),
        ({"kind": "sleep", "params": {"seconds": 1}, "name": "n" * 201}, "name"),
        ({"kind": "sleep", "params": {"seconds": 1}, "owner": 5}, "owner"),
        ({"kind": "sleep", "params": {"seconds": 1}, "owner": ""}, "owner"),
        ({"kind": "sleep", "params": {"seconds": 1}, "owner": "ünï"}, "owner"),
        ({"kind": "sleep", "params": {"seconds": 1}, "deadline": [2030]}, "deadline"),
        ({"kind": "sleep", "params": {"seconds": 1}, "priority": 1}, "priority"),
        ({"kind": "ßleep 🚀", "params": {"seconds": 1}}, "unknown kind"),
        ({"kind": "sleep", "params": {"seconds": 1, "\u0000": 1}}, "params"),
    ],
)
def test_wrong_types_and_values_answer_400_naming_the_field(
    fake: FakeService, fake_client: Client, body: dict[str, object], field: str
) -> None:
    result = fake_client.simulate_post("/api/v1/jobs", json=body)
    assert result.status_code == 400
    assert field in result.json["description"]
    assert fake.app.jobs == {}  # kinds and owners are the application's to check: none kept


def test_unicode_names_are_kept(fake: FakeService, fake_client: Client) -> None:
    """The name reaches the application as sent and comes back as is (the store: test_jobs_api)."""
    name = "名前 🚀 \u2028 end"
    body = {"kind": "sleep", "params": {"seconds": 0.05}, "name": name}
    job = fake_client.simulate_post("/api/v1/jobs", json=body).json
    assert [call.args["name"] for call in fake.app.called("submit")] == [name]
    assert job["name"] == name
    assert fake_client.simulate_get(f"/api/v1/jobs/{job['id']}").json["name"] == name


def test_nul_characters_never_reach_the_store(fake: FakeService, fake_client: Client) -> None:
    """PostgreSQL text cannot hold NUL: bodies, forms, queries and paths refuse it up front."""
    bodies = [
        ("/api/v1/jobs", {"kind": "sleep", "params": {"seconds": 1}, "name": "a\u0000b"}, "name"),
        ("/api/v1/jobs", {"kind": "sleep", "params": {"seconds": 1}, "owner": "\u0000"}, "owner"),
        ("/api/v1/jobs", {"kind": "sleep", "params": {"seconds": 1, "x": ["\u0000"]}}, "params"),
        ("/api/v1/users", {"name": "nul", "surname": "\u0000"}, "surname"),
        ("/api/v1/users/admin/tokens", {"label": "\u0000"}, "label"),
        ("/api/createjob", {"job_type": "Buybox tracking", "start_time": "2021-01-01T00:00:00",
                            "end_time": "2021-01-01T00:00:01", "user": "ad\u0000min"}, "user"),
        ("/api/userlist", {"name": "nul2", "title": "\u0000"}, "title"),
    ]  # fmt: skip
    for path, body, field in bodies:
        result = fake_client.simulate_post(path, json=body)
        assert result.status_code == 400, path
        assert result.json["description"].startswith(f"{field}"), path
    form = fake_client.simulate_post(
        "/api/userlist", body="name=nul3&surname=%00", headers={"Content-Type": URLENCODED}
    )
    assert form.status_code == 400 and "surname" in form.json["description"]
    query = fake_client.simulate_get("/api/v1/jobs", query_string="owner=%00")
    assert query.status_code == 400 and "owner" in query.json["description"]
    for path in ("/api/v1/users/%00", "/api/v1/users/a%00/jobs", "/api/lastjobs/%00",
                 "/api/v1/users/admin/tokens/%00", "/api/v1/users/%00/tokens"):  # fmt: skip
        assert fake_client.simulate_get(path).status_code == 404, path
    assert fake.app.changes() == []
    assert [call for call in fake.app.calls if "\x00" in repr(call.args)] == []  # nor a read


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=x",
    ],
)
def test_non_json_content_types_answer_415(
    fake: FakeService, fake_client: Client, content_type: str
) -> None:
    for path in ("/api/v1/jobs", "/api/v1/users"):
        result = fake_client.simulate_post(
            path, body=b'{"name": "x"}', headers={"Content-Type": content_type}
        )
        assert result.status_code == 415, path
        assert "application/json" in result.json["description"]
    assert fake.app.changes() == []


def test_json_with_a_charset_or_without_a_content_type_is_accepted(
    fake: FakeService, fake_client: Client
) -> None:
    body = orjson.dumps({"kind": "sleep", "params": {"seconds": 0.05}})
    for headers in ({"Content-Type": "application/json; charset=utf-8"}, {}):
        result = fake_client.simulate_post("/api/v1/jobs", body=body, headers=headers)
        assert result.status_code == 201
    submitted = [(c.args["kind"], c.args["params"]) for c in fake.app.called("submit")]
    assert submitted == [("sleep", {"seconds": 0.05})] * 2


def test_bodies_over_the_limit_answer_413(fake: FakeService, fake_client: Client) -> None:
    body = orjson.dumps({"kind": "sleep", "params": {"seconds": 1}, "name": "n" * MAX_BODY})
    for path in ("/api/v1/jobs", "/api/v1/users"):
        result = fake_client.simulate_post(path, body=body, headers=JSON)
        assert result.status_code == 413
        assert str(MAX_BODY) in result.json["description"]
    assert fake.app.changes() == []


class CountingStream(io.BytesIO):
    """A request body that remembers how many bytes the app asked for."""

    asked = 0

    def read(self, size: int | None = -1) -> bytes:
        self.asked += size if size is not None and size >= 0 else 10**9
        return super().read(size)


def raw_post(
    fake: FakeService, client: Client, stream: CountingStream, **environ: object
) -> tuple[str, bytes]:
    """POST /jobs as admin straight through WSGI, with the environ (and body stream) given."""
    headers = {**JSON, **bearer(fake.tokens["admin"])}
    env = falcon.testing.create_environ("/api/v1/jobs", method="POST", headers=headers)
    env.pop("CONTENT_LENGTH", None)
    env.update({"wsgi.input": stream, **environ})
    answer: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        answer.append(status)

    body = b"".join(client.app(env, start_response))
    return answer[0], body


def test_an_announced_oversized_body_is_refused_without_reading_it(
    fake: FakeService, fake_client: Client
) -> None:
    stream = CountingStream(b"{}")
    status, body = raw_post(fake, fake_client, stream, CONTENT_LENGTH=str(10**12))
    assert status.startswith("413") and stream.asked == 0
    assert orjson.loads(body)["title"] == "Body too large"
    assert fake.app.changes() == []


def test_a_chunked_body_is_read_only_to_the_limit(fake: FakeService, fake_client: Client) -> None:
    stream = CountingStream(b"[" + b" " * (10 * MAX_BODY) + b"]")
    status, _ = raw_post(fake, fake_client, stream, **{"wsgi.input_terminated": True})
    assert status.startswith("413") and stream.asked <= MAX_BODY + 1
    assert fake.app.changes() == []


def test_a_chunked_body_within_the_limit_is_accepted(
    fake: FakeService, fake_client: Client
) -> None:
    stream = CountingStream(orjson.dumps({"kind": "sleep", "params": {"seconds": 0.05}}))
    status, answer = raw_post(fake, fake_client, stream, **{"wsgi.input_terminated": True})
    assert status.startswith("201")
    assert [call.args["params"] for call in fake.app.called("submit")] == [{"seconds": 0.05}]
    assert orjson.loads(answer)["id"] in fake.app.jobs


def test_a_malformed_content_length_answers_400(fake: FakeService, fake_client: Client) -> None:
    status, body = raw_post(fake, fake_client, CountingStream(b"{}"), CONTENT_LENGTH="lots")
    assert status.startswith("400")
    assert "Content-Length" in orjson.loads(body)["description"]
    assert fake.app.changes() == []


@pytest.mark.parametrize(
    "job_id", ["0", "-1", str(2**53 + 1), "9" * 10000, "1e3", "0x10", "%20" + "1", "%00", "1.0"]
)
def test_job_ids_out_of_range_or_not_integers_answer_404(
    fake: FakeService, fake_client: Client, job_id: str
) -> None:
    for suffix in ("", "/logs", "/history", "/stream", "/stop"):
        path = f"/api/v1/jobs/{job_id}{suffix}"
        method = "POST" if suffix == "/stop" else "GET"
        result = fake_client.simulate_request(method, path)
        assert result.status_code == 404, path
        assert set(result.json) == {"title", "description"}
    assert fake.app.calls == []  # no route matched: nothing looked up, nobody authenticated


def test_the_largest_id_is_looked_up_and_not_found(fake: FakeService, fake_client: Client) -> None:
    result = fake_client.simulate_get(f"/api/v1/jobs/{2**53}")
    assert result.status_code == 404 and result.json["title"] == "Job not found"
    assert [call.args["job_id"] for call in fake.app.called("get_job")] == [2**53]


def test_repeated_query_parameters_answer_400(fake_client: Client) -> None:
    result = fake_client.simulate_get("/api/v1/jobs", query_string="limit=1&limit=2")
    assert result.status_code == 400 and "limit" in result.json["description"]


def test_unknown_query_parameters_are_ignored(fake_client: Client) -> None:
    assert fake_client.simulate_get("/api/v1/jobs", query_string="_=123&x=%00").status_code == 200


PATHS = [
    "/api/v1/jobs", "/api/v1/jobs/running", "/api/v1/jobs/finished", "/api/v1/jobs/99999999",
    "/api/v1/jobs/99999999/stop", "/api/v1/jobs/99999999/resume", "/api/v1/jobs/99999999/cancel",
    "/api/v1/jobs/99999999/restart", "/api/v1/jobs/99999999/logs",
    "/api/v1/jobs/99999999/history", "/api/v1/jobs/99999999/stream", "/api/v1/logs",
    "/api/v1/users", "/api/v1/users/nobody", "/api/v1/users/nobody/jobs", "/api/v1/kinds",
    "/healthz", "/api/v1/users/%ED%A0%80", "/api/v1/users/%FF/jobs",
]  # fmt: skip
QUERIES = [
    "", "limit=-1", "limit=1e9", "limit=%00", "after=NaN", "cursor=%FF%FE", "version=[]",
    "status=null", "owner=" + "ü" * 300, "position=99999999999999999999999", "limit",
    "a[b]=c&&&==", "owner=%00", "status=%00", "cursor=%00", "after=1&after=2",
    "version=" + "9" * 5000,
]  # fmt: skip
BODIES = [b"", b"{", b"[]", b"null", b'{"kind": {}}', b'{"name": []}', b"\xff\xfe", b"{}" * 10]


def test_no_request_of_any_shape_answers_500(
    fake_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="jobkeeper.http.errors"):
        for path, query, method in itertools.product(PATHS, QUERIES, ["GET", "POST", "PUT"]):
            for body in BODIES if method != "GET" else [b""]:
                result = fake_client.simulate_request(
                    method, path, query_string=query, body=body, headers=JSON
                )
                assert result.status_code < 500, (method, path, query, body)
                assert set(result.json) >= {"title"} or result.status_code < 300
    assert not caplog.records
