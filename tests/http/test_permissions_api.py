"""Who may do what: owners and admins command jobs, admins create users and submit for others;
a refused request answers 403 and records nothing; the history names who did each thing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon.testing
import pytest

from tests.http.conftest import LATER, recorded_since

if TYPE_CHECKING:
    from tests.http.conftest import Api

COMMANDS = ["stop", "resume", "cancel", "restart"]
PREPARE = {"stop": [], "cancel": [], "resume": ["stop"], "restart": ["cancel"]}
"""The commands (by admin) that bring a fresh queued job to where each command is allowed."""


def parked_job(api: Api, owner: str, command: str) -> int:
    """A job of `owner` that waits (not_before far ahead), ready for `command`."""
    result = api.as_user(owner).simulate_post(
        "/api/v1/jobs", json={**api.SHORT, "not_before": LATER}
    )
    assert result.status_code == 201, result.json
    job_id: int = result.json["id"]
    for step in PREPARE[command]:
        assert api.client.simulate_post(f"/api/v1/jobs/{job_id}/{step}").status_code == 200
    return job_id


def client_of(
    api: Api, actor: str, owner: str, other: str
) -> tuple[str, falcon.testing.TestClient]:
    """The name and client of the owner, an admin, or another user."""
    name = {"owner": owner, "admin": "admin", "other": other}[actor]
    return name, api.as_user(name)


@pytest.mark.parametrize("actor", ["owner", "admin", "other"])
@pytest.mark.parametrize("command", COMMANDS)
def test_only_the_owner_or_an_admin_may_command_a_job(api: Api, command: str, actor: str) -> None:
    owner, other = api.new_user(), api.new_user()
    job_id = parked_job(api, owner, command)
    before = api.history(job_id)
    name, client = client_of(api, actor, owner, other)
    result = client.simulate_post(f"/api/v1/jobs/{job_id}/{command}")
    if actor == "other":
        assert result.status_code == 403
        assert result.json == {
            "title": "Forbidden",
            "description": f"only the job's owner ({owner}) or an admin may command job {job_id}",
        }
        assert api.history(job_id) == before  # nothing recorded
    else:
        assert result.status_code == 200 and result.headers["JobKeeper-Changed"] == "true"
        after = api.history(job_id)
        assert after[: len(before)] == before and len(after) > len(before)
        assert {event["by"] for event in after[len(before) :]} == {name}
    api.client.simulate_post(f"/api/v1/jobs/{job_id}/cancel")


def test_a_refused_command_is_refused_before_its_status_is_considered(api: Api) -> None:
    owner, other = api.new_user(), api.new_user()
    job_id = parked_job(api, owner, "restart")  # cancelled: stop would be a 409 for the owner
    assert api.as_user(other).simulate_post(f"/api/v1/jobs/{job_id}/stop").status_code == 403
    assert api.as_user(owner).simulate_post(f"/api/v1/jobs/{job_id}/stop").status_code == 409


def test_any_user_reads_every_job_its_history_and_logs(api: Api) -> None:
    owner, other = api.new_user(), api.new_user()
    job_id = parked_job(api, owner, "stop")
    reader = api.as_user(other)
    for path in ("", "/history", "/logs"):
        assert reader.simulate_get(f"/api/v1/jobs/{job_id}{path}").status_code == 200, path
    assert reader.simulate_get(f"/api/v1/users/{owner}/jobs").status_code == 200
    assert reader.simulate_get("/api/v1/users").status_code == 200
    api.client.simulate_post(f"/api/v1/jobs/{job_id}/cancel")


def test_a_job_belongs_to_its_submitter_unless_an_admin_names_another_owner(api: Api) -> None:
    user, other = api.new_user(), api.new_user()
    mine = api.as_user(user).simulate_post("/api/v1/jobs", json={**api.SHORT, "not_before": LATER})
    assert mine.status_code == 201 and mine.json["owner"] == user
    also_mine = api.as_user(user).simulate_post(
        "/api/v1/jobs", json={**api.SHORT, "owner": user, "not_before": LATER}
    )
    assert also_mine.status_code == 201
    position = api.runtime.app.position()
    theirs = api.as_user(user).simulate_post(
        "/api/v1/jobs", json={**api.SHORT, "owner": other, "not_before": LATER}
    )
    assert theirs.status_code == 403 and theirs.json["title"] == "Forbidden"
    assert recorded_since(api.runtime, position, by=user) == []
    for_them = api.client.simulate_post(
        "/api/v1/jobs", json={**api.SHORT, "owner": other, "not_before": LATER}
    )
    assert for_them.status_code == 201 and for_them.json["owner"] == other
    history = api.history(for_them.json["id"])
    assert history[0]["type"] == "Submitted" and history[0]["by"] == "admin"
    for job in (mine.json, also_mine.json, for_them.json):
        api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")


def test_only_an_admin_creates_users(api: Api) -> None:
    user = api.new_user()
    position = api.runtime.app.position()
    refused = api.as_user(user).simulate_post("/api/v1/users", json={"name": f"{user}-friend"})
    assert refused.status_code == 403
    assert refused.json == {"title": "Forbidden", "description": "only an admin may create users"}
    assert api.client.simulate_get(f"/api/v1/users/{user}-friend").status_code == 404
    assert recorded_since(api.runtime, position, by=user) == []
    boss = api.new_user(role="admin")
    made = api.as_user(boss).simulate_post("/api/v1/users", json={"name": f"{user}-friend"})
    assert made.status_code == 201 and made.json["token"]["token"]


def test_the_history_names_the_authenticated_user_who_did_each_thing(api: Api) -> None:
    owner = api.new_user()
    me = api.as_user(owner)
    job = me.simulate_post("/api/v1/jobs", json={**api.LONG, "not_before": LATER}).json
    assert me.simulate_post(f"/api/v1/jobs/{job['id']}/stop").status_code == 200
    assert me.simulate_post(f"/api/v1/jobs/{job['id']}/resume").status_code == 200
    assert api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    history: list[dict[str, Any]] = me.simulate_get(f"/api/v1/jobs/{job['id']}/history").json[
        "items"
    ]
    who = [(event["type"], event["by"]) for event in history]
    assert who == [
        ("Submitted", owner),
        ("Stopped", owner),
        ("Resumed", owner),
        ("Cancelled", "admin"),
    ]
