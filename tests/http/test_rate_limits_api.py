"""Rate limits: each user's commands and reads have budgets; over one answers 429 and does nothing.

The HTTP layer on the fake application (tests/http/fake.py), which records every call: a
refused request reaches nothing but the token check. The counters shared in Redis need Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import falcon.testing
import pytest

from jobkeeper import server
from jobkeeper.http.app import create_app
from jobkeeper.http.rate_limits import RateLimits
from jobkeeper.settings import Settings, SettingsError
from tests.conftest import REDIS_URL, broker_queue
from tests.http.conftest import LATER, SHORT, bearer, client_of, wait_until
from tests.http.fake import FakeService

if TYPE_CHECKING:
    from jobkeeper.bootstrap import Runtime

Client = falcon.testing.TestClient


def limited(fake: FakeService, commands: str = "off", reads: str = "off") -> Client:
    """An app of the test's own (fresh counters) on the fake service, as admin."""
    app = create_app(fake, rate_limits=RateLimits(commands, reads))
    return client_of(app, fake.tokens["admin"])


def as_user(client: Client, fake: FakeService, name: str) -> Client:
    return client_of(client.app, fake.tokens[name])


def submit(client: Client) -> falcon.testing.Result:
    return client.simulate_post("/api/v1/jobs", json={**SHORT, "not_before": LATER})


def assert_too_many(result: falcon.testing.Result, window: int) -> int:
    """Assert a sane 429; its Retry-After in seconds."""
    assert result.status_code == 429, result.json
    assert result.json["title"] == "Too many requests"
    assert "budget" in result.json["description"] and "retry after" in result.json["description"]
    retry_after = int(result.headers["Retry-After"])
    assert 1 <= retry_after <= window
    assert result.headers["RateLimit-Remaining"] == "0"
    assert result.headers["RateLimit-Reset"] == str(retry_after)
    return retry_after


def test_a_burst_over_the_command_budget_answers_429_and_records_nothing(
    fake: FakeService, fake_client: Client
) -> None:
    client = limited(fake, commands="3/minute")
    user, other = fake.add_user(), fake.add_user()
    me = as_user(client, fake, user)
    answers = [submit(me) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert all(a.headers["RateLimit-Limit"] == "3" for a in answers)
    fake.app.calls.clear()
    refused = submit(me)
    assert_too_many(refused, 60)
    assert user in refused.json["description"]
    stop = me.simulate_post(f"/api/v1/jobs/{answers[0].json['id']}/stop")
    assert_too_many(stop, 60)
    # Neither reached the application: the token was checked, nothing else was asked.
    assert {call.method for call in fake.app.calls} == {"authenticate"}
    first = fake_client.simulate_get(f"/api/v1/jobs/{answers[0].json['id']}").json
    assert first["status"] == "queued"
    theirs = submit(as_user(client, fake, other))
    assert theirs.status_code == 201  # another user has a budget of their own
    assert me.simulate_get("/api/v1/jobs").status_code == 200  # reads are not commands


def test_reads_have_a_budget_of_their_own(fake: FakeService) -> None:
    client = limited(fake, commands="3/minute", reads="3/minute")
    me = as_user(client, fake, fake.add_user())
    assert [me.simulate_get("/api/v1/kinds").status_code for _ in range(3)] == [200] * 3
    fake.app.calls.clear()
    assert_too_many(me.simulate_get("/api/v1/jobs"), 60)
    assert {call.method for call in fake.app.calls} == {"authenticate"}  # no page was read
    submitted = submit(me)
    assert submitted.status_code == 201 and submitted.headers["RateLimit-Remaining"] == "2"


def test_the_budget_comes_back_after_retry_after(fake: FakeService) -> None:
    client = limited(fake, commands="2/second")
    me = as_user(client, fake, fake.add_user())
    assert [submit(me).status_code for _ in range(2)] == [201, 201]
    retry_after = assert_too_many(submit(me), 1)
    # What the header promises is what is tested: accepted again by then (refusals cost nothing).
    again = wait_until(lambda: (result := submit(me)).status_code == 201 and result, retry_after)
    assert again.status_code == 201
    assert len(fake.app.changes()) == 3


def test_requests_without_a_valid_token_are_counted_per_client_address(fake: FakeService) -> None:
    client = limited(fake, reads="3/minute")
    anonymous = client_of(client.app)
    wrong = bearer("jk_admin_deadbeef_" + "0" * 64)
    guesses = [
        anonymous.simulate_get("/api/v1/jobs", headers=wrong, remote_addr="10.0.0.1")
        for _ in range(3)
    ]
    assert [g.status_code for g in guesses] == [401] * 3
    blocked = anonymous.simulate_get("/api/v1/jobs", remote_addr="10.0.0.1")
    assert_too_many(blocked, 60)
    assert "10.0.0.1" in blocked.json["description"]
    assert anonymous.simulate_get("/api/v1/jobs", remote_addr="10.0.0.2").status_code == 401
    admin = anonymous.simulate_get(
        "/api/v1/jobs", headers=bearer(fake.tokens["admin"]), remote_addr="10.0.0.1"
    )
    assert admin.status_code == 200  # a valid token is counted as its user, not its address


def test_public_routes_are_not_limited(fake: FakeService) -> None:
    client = limited(fake, commands="1/minute", reads="1/minute")
    for _ in range(5):
        for path in ("/healthz", "/openapi.json", "/docs"):
            result = client.simulate_get(path)
            assert result.status_code == 200 and "RateLimit-Limit" not in result.headers, path


def test_the_legacy_command_paths_spend_the_command_budget(
    fake: FakeService, fake_client: Client
) -> None:
    client = limited(fake, commands="2/minute", reads="100/minute")
    job = submit(client).json
    assert client.simulate_get(f"/api/stopjob/{job['id']}").status_code == 200
    assert_too_many(client.simulate_get(f"/api/canceljob/{job['id']}"), 60)
    assert [call.args["name"] for call in fake.app.called("command")] == ["stop"]
    assert client.simulate_get("/api/getjobs").status_code == 200
    assert fake_client.simulate_get(f"/api/v1/jobs/{job['id']}").json["status"] == "stopped"


def test_the_server_builds_its_limits_from_the_settings(fake: FakeService) -> None:
    settings = Settings(rate_commands="1/minute", rate_reads="2/minute", queue="rate-test")
    app = server.create_app(cast("Runtime", fake), settings)  # it needs only the Service port
    client = client_of(app, fake.tokens["admin"])
    assert [client.simulate_get("/api/v1/kinds").status_code for _ in range(3)] == [200, 200, 429]
    assert submit(client).status_code == 201
    assert submit(client).status_code == 429
    assert len(fake.app.changes()) == 1


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("JOBKEEPER_RATE_COMMANDS", "lots", ["JOBKEEPER_RATE_COMMANDS", "'lots'", "60/minute"]),
        ("JOBKEEPER_RATE_READS", "0/minute", ["JOBKEEPER_RATE_READS", "at least one"]),
        ("JOBKEEPER_RATE_READS", "5/minute;1/second", ["JOBKEEPER_RATE_READS", "one budget"]),
        ("JOBKEEPER_RATE_COMMANDS", "10/fortnight", ["JOBKEEPER_RATE_COMMANDS"]),
        ("JOBKEEPER_REDIS_URL", "http://localhost:6379", ["JOBKEEPER_REDIS_URL", "redis://"]),
    ],
)
def test_bad_rate_settings_are_refused_with_a_clear_message(
    variable: str, value: str, words: list[str]
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_rate_settings_default_to_sane_budgets_in_memory() -> None:
    settings = Settings.from_env({})
    assert (settings.rate_commands, settings.rate_reads, settings.redis_url) == (
        "60/minute", "1200/minute", ""
    )  # fmt: skip
    chosen = Settings.from_env(
        {"JOBKEEPER_RATE_COMMANDS": "off", "JOBKEEPER_RATE_READS": "10 per second",
         "JOBKEEPER_REDIS_URL": "redis://127.0.0.1:6379/0"}
    )  # fmt: skip
    assert (chosen.rate_commands, chosen.rate_reads) == ("off", "10 per second")


def test_unreachable_counters_let_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    limits = RateLimits("1/minute", "1/minute", "redis://127.0.0.1:1/0", namespace="nowhere")
    with caplog.at_level("WARNING", logger="jobkeeper.http.rate_limits"):
        assert limits.check("POST", "user:ann") is None
        assert limits.check("POST", "user:ann") is None
    assert [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]


@pytest.mark.redis
def test_counters_in_redis_are_shared_by_every_limiter_of_a_namespace() -> None:
    with broker_queue("redis") as (_, namespace), broker_queue("redis") as (_, another):
        first, second = (RateLimits("3/minute", "off", REDIS_URL, namespace) for _ in range(2))
        elsewhere = RateLimits("3/minute", "off", REDIS_URL, another)
        verdicts = [first.check("POST", "user:ann"), second.check("DELETE", "user:ann"),
                    first.check("PUT", "user:ann")]  # fmt: skip
        assert [v.allowed for v in verdicts if v] == [True, True, True]
        refused = second.check("POST", "user:ann")
        assert refused is not None and not refused.allowed and refused.headers()["Retry-After"]
        assert second.check("GET", "user:ann") is None  # reads are off
        other = elsewhere.check("POST", "user:ann")
        assert other is not None and other.allowed
