"""Rate limits: each user's commands and reads have budgets; over one answers 429 and does nothing."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import falcon.testing
import pytest

from jobkeeper import server
from jobkeeper.http.app import create_app
from jobkeeper.http.rate_limits import RateLimits
from jobkeeper.settings import Settings, SettingsError
from tests.conftest import REDIS_URL, broker_queue
from tests.http.conftest import LATER, bearer, recorded_since

if TYPE_CHECKING:
    from tests.http.conftest import Api


def limited(api: Api, commands: str = "off", reads: str = "off") -> falcon.testing.TestClient:
    """An app of the test's own (fresh counters) on the shared runtime, as admin."""
    app = create_app(api.runtime, rate_limits=RateLimits(commands, reads))
    return falcon.testing.TestClient(app, headers=api.headers)


def as_user(client: falcon.testing.TestClient, api: Api, name: str) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(client.app, headers=bearer(api.tokens[name]))


def submit(client: falcon.testing.TestClient, api: Api) -> falcon.testing.Result:
    return client.simulate_post("/api/v1/jobs", json={**api.SHORT, "not_before": LATER})


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


def cancel_all(api: Api, jobs: list[dict[str, Any]]) -> None:
    for job in jobs:
        api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")


def test_a_burst_over_the_command_budget_answers_429_and_records_nothing(api: Api) -> None:
    client = limited(api, commands="3/minute")
    user, other = api.new_user(), api.new_user()
    me = as_user(client, api, user)
    answers = [submit(me, api) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert all(a.headers["RateLimit-Limit"] == "3" for a in answers)
    position = api.runtime.app.position()
    refused = submit(me, api)
    assert_too_many(refused, 60)
    assert user in refused.json["description"]
    stop = me.simulate_post(f"/api/v1/jobs/{answers[0].json['id']}/stop")
    assert_too_many(stop, 60)
    assert recorded_since(api.runtime, position, by=user) == []  # neither touched the store
    assert api.job(answers[0].json["id"])["status"] == "queued"
    theirs = submit(as_user(client, api, other), api)
    assert theirs.status_code == 201  # another user has a budget of their own
    assert me.simulate_get("/api/v1/jobs").status_code == 200  # reads are not commands
    cancel_all(api, [a.json for a in [*answers, theirs]])


def test_reads_have_a_budget_of_their_own(api: Api) -> None:
    client = limited(api, commands="3/minute", reads="3/minute")
    me = as_user(client, api, api.new_user())
    assert [me.simulate_get("/api/v1/kinds").status_code for _ in range(3)] == [200] * 3
    assert_too_many(me.simulate_get("/api/v1/jobs"), 60)
    submitted = submit(me, api)
    assert submitted.status_code == 201 and submitted.headers["RateLimit-Remaining"] == "2"
    cancel_all(api, [submitted.json])


def test_the_budget_comes_back_after_retry_after(api: Api) -> None:
    client = limited(api, commands="2/second")
    me = as_user(client, api, api.new_user())
    jobs = [submit(me, api) for _ in range(2)]
    retry_after = assert_too_many(submit(me, api), 1)
    time.sleep(retry_after)  # what the header promises is what is tested
    again = submit(me, api)
    assert again.status_code == 201
    cancel_all(api, [j.json for j in [*jobs, again]])


def test_requests_without_a_valid_token_are_counted_per_client_address(
    api: Api, admin_token: str
) -> None:
    client = limited(api, reads="3/minute")
    anonymous = falcon.testing.TestClient(client.app)
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
        "/api/v1/jobs", headers=bearer(admin_token), remote_addr="10.0.0.1"
    )
    assert admin.status_code == 200  # a valid token is counted as its user, not its address


def test_public_routes_are_not_limited(api: Api) -> None:
    client = limited(api, commands="1/minute", reads="1/minute")
    for _ in range(5):
        for path in ("/healthz", "/openapi.json", "/docs"):
            result = client.simulate_get(path)
            assert result.status_code == 200 and "RateLimit-Limit" not in result.headers, path


def test_the_seeds_command_paths_spend_the_command_budget(api: Api) -> None:
    client = limited(api, commands="2/minute", reads="100/minute")
    job = submit(client, api).json
    assert client.simulate_get(f"/api/stopjob/{job['id']}").status_code == 200
    assert_too_many(client.simulate_get(f"/api/canceljob/{job['id']}"), 60)
    assert client.simulate_get("/api/getjobs").status_code == 200
    assert api.job(job["id"])["status"] == "stopped"
    cancel_all(api, [job])


def test_the_server_builds_its_limits_from_the_settings(api: Api) -> None:
    settings = Settings(rate_commands="1/minute", rate_reads="2/minute", queue="rate-test")
    app = server.create_app(api.runtime, settings)
    client = falcon.testing.TestClient(app, headers=api.headers)
    assert [client.simulate_get("/api/v1/kinds").status_code for _ in range(3)] == [200, 200, 429]
    job = submit(client, api)
    assert job.status_code == 201
    assert submit(client, api).status_code == 429
    cancel_all(api, [job.json])


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
