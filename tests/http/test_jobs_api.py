"""Submitting, listing and reading jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from tests.http.conftest import wait_until

if TYPE_CHECKING:
    from tests.http.conftest import Api

JOB_FIELDS = [
    "id", "name", "kind", "owner", "params", "status", "progress", "attempt", "checkpoint",
    "result", "error", "created_at", "started_at", "finished_at", "not_before", "deadline",
    "version", "allowed_commands",
]  # fmt: skip


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_submit_answers_201_with_location_position_and_the_job(api: Api, user: str) -> None:
    result = api.client.simulate_post(
        "/api/v1/jobs", json={**api.SHORT, "name": "nap", "owner": user}
    )
    assert result.status_code == 201
    job = result.json
    assert list(job) == JOB_FIELDS
    assert result.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert int(result.headers["JobKeeper-Position"]) >= 1
    assert job["name"] == "nap" and job["kind"] == "sleep" and job["owner"] == user
    assert job["params"] == {"seconds": 0.3, "step": 0.1}
    assert job["status"] == "queued" and job["version"] == 1 and job["attempt"] == 1
    assert job["allowed_commands"] == ["stop", "cancel"]
    assert datetime.fromisoformat(job["created_at"]).tzinfo is not None


def test_a_job_without_owner_belongs_to_the_caller_and_records_who_submitted(api: Api) -> None:
    job = api.submit(**api.SHORT)
    assert job["owner"] == "admin"
    assert job["name"] == "sleep"  # defaults to the kind
    history = api.client.simulate_get(f"/api/v1/jobs/{job['id']}/history").json["items"]
    assert history[0]["type"] == "Submitted" and history[0]["by"] == "admin"


def test_kind_defaults_fill_in_params(api: Api) -> None:
    job = api.submit(kind="sleep", params={"seconds": 0.1})
    assert job["params"] == {"seconds": 0.1, "step": 1.0}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "nope"}, ["unknown kind 'nope'", "sleep"]),
        ({"kind": "sleep", "params": {"seconds": -1}}, ["seconds", "greater than 0"]),
        ({"kind": "sleep", "params": {}}, ["seconds", "Field required"]),
        ({"kind": "sleep", "params": {"seconds": 1, "color": "red"}}, ["color"]),
        ({"kind": "primes", "params": {"limit": 10, "chunk": 10}}, ["chunk"]),
        ({"kind": "sleep", "params": {"seconds": 1}, "owner": "nobody"}, ["owner", "nobody"]),
    ],
)
def test_bad_submissions_answer_400_saying_what_to_fix(
    api: Api, body: dict[str, object], words: list[str]
) -> None:
    result = api.client.simulate_post("/api/v1/jobs", json=body)
    assert result.status_code == 400
    for word in words:
        assert word in result.json["description"]


def test_not_before_and_deadline_are_kept_in_utc(api: Api) -> None:
    not_before = (datetime.now(timezone(timedelta(hours=2))) + timedelta(hours=1)).isoformat()
    job = api.submit(**api.SHORT, not_before=not_before, deadline=later(days=1))
    assert datetime.fromisoformat(job["not_before"]) == datetime.fromisoformat(not_before)
    assert job["not_before"].endswith("+00:00")
    assert job["status"] == "queued"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("not_before", "2030-01-01T00:00:00", ["not_before", "timezone"]),
        ("not_before", 1893456000, ["not_before", "ISO-8601"]),
        ("not_before", "tomorrow", ["not_before"]),
        ("not_before", "9999-12-31T23:59:59-14:00", ["not_before", "out of range"]),
        ("deadline", "0001-01-01T00:00:00+14:00", ["deadline", "out of range"]),
        ("deadline", "2001-01-01T00:00:00Z", ["deadline", "already passed"]),
    ],
)
def test_bad_times_answer_400(api: Api, field: str, value: object, words: list[str]) -> None:
    result = api.client.simulate_post("/api/v1/jobs", json={**api.SHORT, field: value})
    assert result.status_code == 400
    for word in words:
        assert word in result.json["description"]


def test_a_deadline_before_not_before_answers_400(api: Api) -> None:
    body = {**api.SHORT, "not_before": later(days=2), "deadline": later(days=1)}
    result = api.client.simulate_post("/api/v1/jobs", json=body)
    assert result.status_code == 400
    assert "not_before" in result.json["description"]


def test_get_job_answers_the_aggregate_and_404_for_unknown_ids(api: Api) -> None:
    job = api.submit(**api.SHORT)
    done = api.wait_for_status(job["id"], "succeeded")
    assert done["result"] == {"slept": 0.3} and done["progress"] == 1.0
    assert done["finished_at"] is not None and done["allowed_commands"] == ["restart"]
    missing = api.client.simulate_get("/api/v1/jobs/987654321")
    assert missing.status_code == 404
    assert missing.json == {"title": "Job not found", "description": "there is no job 987654321"}


def test_version_travels_back_in_time(api: Api) -> None:
    job = api.submit(**api.SHORT)
    done = api.wait_for_status(job["id"], "succeeded")
    first = api.client.simulate_get(f"/api/v1/jobs/{job['id']}", params={"version": 1})
    assert first.status_code == 200
    assert first.json["version"] == 1 and first.json["status"] == "queued"
    assert first.json["started_at"] is None
    second = api.client.simulate_get(f"/api/v1/jobs/{job['id']}", params={"version": 2})
    assert second.json["status"] == "running"
    latest = api.client.simulate_get(
        f"/api/v1/jobs/{job['id']}", params={"version": done["version"]}
    )
    assert latest.json == done


@pytest.mark.parametrize(("version", "status"), [("0", 400), ("-3", 400), ("x", 400), ("1.5", 400)])
def test_versions_below_one_or_not_numbers_answer_400(api: Api, version: str, status: int) -> None:
    job = api.submit(**api.SHORT)
    result = api.client.simulate_get(f"/api/v1/jobs/{job['id']}", params={"version": version})
    assert result.status_code == status
    assert "version" in result.json["description"]


def test_versions_beyond_the_latest_answer_404_naming_the_latest(api: Api) -> None:
    job = api.submit(**api.SHORT)
    for version in ("1000", str(2**80)):
        result = api.client.simulate_get(f"/api/v1/jobs/{job['id']}", params={"version": version})
        assert result.status_code == 404
        assert "its latest is" in result.json["description"]


def test_list_is_newest_first_and_a_position_makes_it_include_the_new_job(
    api: Api, user: str
) -> None:
    first = api.client.simulate_post("/api/v1/jobs", json={**api.SHORT, "owner": user})
    second = api.client.simulate_post("/api/v1/jobs", json={**api.SHORT, "owner": user})
    position = second.headers["JobKeeper-Position"]
    page = api.client.simulate_get("/api/v1/jobs", params={"owner": user, "position": position})
    assert page.status_code == 200
    assert [j["id"] for j in page.json["items"]] == [second.json["id"], first.json["id"]]
    assert page.json["next_cursor"] is None
    everyone = api.client.simulate_get("/api/v1/jobs", params={"position": position}).json
    assert everyone["items"][0]["id"] >= second.json["id"]


def test_list_rows_have_the_same_shape_and_values_as_the_job(api: Api, user: str) -> None:
    job = api.submit(**api.SHORT, owner=user, deadline=later(days=1))
    done = api.wait_for_status(job["id"], "succeeded")
    api.runtime.views.wait(api.runtime.app.position(), 5)
    listed = api.client.simulate_get("/api/v1/jobs", params={"owner": user}).json["items"]
    assert listed == [done]
    last_ten = api.client.simulate_get(f"/api/v1/users/{user}/jobs").json["items"]
    assert last_ten == [done]
    finished = api.client.simulate_get("/api/v1/jobs/finished").json["items"]
    assert [j for j in finished if j["id"] == done["id"]] == [done]


def test_running_rows_carry_the_checkpoint_and_params_as_the_job(api: Api, user: str) -> None:
    job = api.submit(
        kind="sleep", params={"seconds": 60, "step": 0.05}, name='naïve ✓ "quoted"', owner=user
    )
    wait_until(lambda: api.job(job["id"])["checkpoint"] is not None)
    stopped = api.client.simulate_post(f"/api/v1/jobs/{job['id']}/stop")
    api.wait_for_status(job["id"], "stopped")
    api.runtime.views.wait(api.runtime.app.position(), 5)
    detail = api.job(job["id"])
    assert stopped.status_code == 200 and detail["checkpoint"] is not None
    listed = api.client.simulate_get("/api/v1/jobs", params={"owner": user}).json["items"]
    assert listed == [detail]


def test_list_filters_by_status_and_rejects_unknown_statuses(api: Api, user: str) -> None:
    done = api.submit(**api.SHORT, owner=user)
    api.wait_for_status(done["id"], "succeeded")
    stopped = api.client.simulate_post(
        "/api/v1/jobs", json={**api.SHORT, "owner": user, "not_before": later(hours=1)}
    )
    stop = api.client.simulate_post(f"/api/v1/jobs/{stopped.json['id']}/stop")
    position = stop.headers["JobKeeper-Position"]
    for status, expected in (("stopped", stopped.json["id"]), ("succeeded", done["id"])):
        page = api.client.simulate_get(
            "/api/v1/jobs", params={"owner": user, "status": status, "position": position}
        )
        assert [j["id"] for j in page.json["items"]] == [expected]
    bad = api.client.simulate_get("/api/v1/jobs", params={"status": "sleeping"})
    assert bad.status_code == 400
    assert "status" in bad.json["description"] and "queued" in bad.json["description"]


def test_list_filters_by_several_statuses_kind_and_text_in_the_name(api: Api, user: str) -> None:
    def submit(name: str, kind: str = "sleep") -> int:
        params = {"seconds": 0.05} if kind == "sleep" else {"limit": 10}
        return int(
            api.submit(kind=kind, name=name, params=params, owner=user, not_before=later(hours=1))[
                "id"
            ]
        )

    nightly = submit("Nightly 100%_export")
    weekly = submit("weekly export")
    primes = submit("primes nightly", kind="primes")
    api.client.simulate_post(f"/api/v1/jobs/{weekly}/cancel")
    stop = api.client.simulate_post(f"/api/v1/jobs/{primes}/stop")
    position = stop.headers["JobKeeper-Position"]

    def ids(path: str = "/api/v1/jobs", **params: str | list[str]) -> list[int]:
        query = {"owner": user, "position": position, **params}
        page = api.client.simulate_get(path, params=query)
        assert page.status_code == 200, page.json
        return [j["id"] for j in page.json["items"]]

    assert ids(status=["queued", "stopped"]) == [primes, nightly]
    assert ids(status="queued,cancelled") == [weekly, nightly]
    assert ids(kind="primes") == [primes]
    assert ids(q="NIGHTLY") == [primes, nightly]
    assert ids(q="100%_") == [nightly]  # LIKE's wildcards are plain text
    assert ids(q="%") == [nightly]
    assert ids(q="export", status="cancelled") == [weekly]
    assert ids("/api/v1/jobs/finished", q="export") == [weekly]
    assert ids("/api/v1/jobs/running", kind="sleep") == [nightly]  # queued is live
    assert ids(kind="nothing-like-it") == []
    for job_id in (nightly, primes):
        api.client.simulate_post(f"/api/v1/jobs/{job_id}/cancel")


def test_cursor_pages_through_every_job_once(api: Api, user: str) -> None:
    ids = [api.submit(**api.SHORT, owner=user, not_before=later(hours=1))["id"] for _ in range(5)]
    position = api.runtime.app.position()
    seen, cursor = [], None
    for _ in range(5):
        params = {"owner": user, "limit": "2", "position": str(position)}
        if cursor:
            params["cursor"] = cursor
        page = api.client.simulate_get("/api/v1/jobs", params=params).json
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    for job_id in ids:
        api.client.simulate_post(f"/api/v1/jobs/{job_id}/cancel")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"limit": ""},
        {"limit": "9" * 5000}, {"cursor": "not-a-cursor"}, {"cursor": "eyJiZWZvcmUiOiAieCJ9"},
        {"cursor": "W10"}, {"cursor": "ünïcødé"}, {"cursor": "=="}, {"position": "-1"},
        {"position": "x"}, {"status": "QUEUED"}, {"status": "queued,"}, {"q": ""},
        {"q": "x" * 201}, {"kind": "k" * 101},
    ],
)  # fmt: skip
def test_bad_list_parameters_answer_400(api: Api, params: dict[str, str]) -> None:
    for path in ("/api/v1/jobs", "/api/v1/jobs/running", "/api/v1/jobs/finished"):
        if "status" in params and path != "/api/v1/jobs":
            continue
        result = api.client.simulate_get(path, params=params)
        assert result.status_code == 400, (path, params)
        assert next(iter(params)) in result.json["description"]


def test_running_and_finished_views_hold_the_right_jobs(api: Api) -> None:
    running = api.submit(**api.LONG)
    api.wait_for_status(running["id"], "running")
    finished = api.submit(**api.SHORT)
    api.wait_for_status(finished["id"], "succeeded")
    position = str(api.runtime.app.position())

    def ids(path: str) -> list[int]:
        page = api.client.simulate_get(path, params={"position": position, "limit": "1000"})
        return [j["id"] for j in page.json["items"]]

    assert running["id"] in ids("/api/v1/jobs/running")
    assert running["id"] not in ids("/api/v1/jobs/finished")
    assert finished["id"] in ids("/api/v1/jobs/finished")
    assert finished["id"] not in ids("/api/v1/jobs/running")
    api.client.simulate_post(f"/api/v1/jobs/{running['id']}/cancel")
    api.wait_for_status(running["id"], "cancelled")


def test_running_view_pages_with_cursors(api: Api) -> None:
    jobs = [api.submit(**api.SHORT, not_before=later(hours=1))["id"] for _ in range(3)]
    position = str(api.runtime.app.position())
    page = api.client.simulate_get(
        "/api/v1/jobs/running", params={"limit": "2", "position": position}
    ).json
    assert [j["id"] for j in page["items"]] == jobs[::-1][:2]
    rest = api.client.simulate_get(
        "/api/v1/jobs/running", params={"limit": "1", "cursor": page["next_cursor"]}
    ).json
    assert [j["id"] for j in rest["items"]] == [jobs[0]]
    for job_id in jobs:
        api.client.simulate_post(f"/api/v1/jobs/{job_id}/cancel")


def test_history_lists_every_event_in_order(api: Api) -> None:
    job = api.submit(**api.SHORT)
    done = api.wait_for_status(job["id"], "succeeded")
    items = api.client.simulate_get(f"/api/v1/jobs/{job['id']}/history").json["items"]
    assert [e["version"] for e in items] == list(range(1, done["version"] + 1))
    assert items[0]["type"] == "Submitted" and items[-1]["type"] == "Succeeded"
    assert items[1]["type"] == "Started" and items[1]["by"] == "system"
    assert items[0]["data"]["params"] == {"seconds": 0.3, "step": 0.1}
    assert items[-1]["data"]["result"] == {"slept": 0.3}
    assert set(items[0]) == {"version", "type", "at", "by", "data", "hash"}
    assert api.client.simulate_get("/api/v1/jobs/424242/history").status_code == 404


def test_unicode_names_are_kept_by_the_store(api: Api) -> None:
    """Names with emoji and line separators come back from each backend's store as sent."""
    job = api.submit(kind="sleep", params={"seconds": 0.05}, name="名前 🚀 \u2028 end")
    assert api.job(job["id"])["name"] == "名前 🚀 \u2028 end"
    api.wait_for_status(job["id"], "succeeded")


def test_detail_comes_from_the_view_row_when_it_holds_the_latest_version(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from jobkeeper.http.v1.representation import job_from_aggregate

    job = api.submit(kind="sleep", params={"seconds": 0.2, "step": 0.1})
    api.wait_for_status(job["id"], "succeeded")
    runtime = api.runtime
    assert runtime.views.wait(runtime.app.position(), timeout=10)
    loads: list[int] = []
    get_job, me = runtime.app.get_job, threading.get_ident()

    def counted(job_id: int, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == me:
            loads.append(job_id)
        return get_job(job_id, *args, **kwargs)

    monkeypatch.setattr(runtime.app, "get_job", counted)
    from_row = api.client.simulate_get(f"/api/v1/jobs/{job['id']}").json
    assert loads == []  # the row was current: no replay
    assert from_row == job_from_aggregate(get_job(job["id"]))
    with runtime.view_store.writing() as db:  # the row lags one event behind
        db.execute("UPDATE {jobs} SET version = version - 1 WHERE id = ?", (job["id"],))
    try:
        from_events = api.client.simulate_get(f"/api/v1/jobs/{job['id']}").json
        assert loads == [job["id"]] and from_events == from_row
    finally:
        with runtime.view_store.writing() as db:
            db.execute("UPDATE {jobs} SET version = version + 1 WHERE id = ?", (job["id"],))
