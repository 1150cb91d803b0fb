"""The older service's paths obey the same rules as v1: owners and admins command jobs, a job's `user`
is the caller unless an admin asks, only admins create users; refusals record nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon.testing
import pytest

from tests.http.conftest import LATER
from tests.legacy.conftest import FORM, START, end_after

if TYPE_CHECKING:
    from tests.legacy.conftest import Legacy

PATHS = {
    "stop": "/api/stopjob/",
    "resume": "/api/resumejob/",
    "cancel": "/api/canceljob/",
    "restart": "/api/restartjob/",
}
PREPARE = {"stop": [], "cancel": [], "resume": ["stop"], "restart": ["cancel"]}
"""The commands (by admin) that bring a fresh queued job to where each command is allowed."""


def parked_job(legacy: Legacy, owner: str, command: str) -> int:
    """A job of `owner` that waits (not_before far ahead), ready for `command`."""
    body = {"kind": "sleep", "params": {"seconds": 1}, "owner": owner, "not_before": LATER}
    job_id: int = legacy.client.simulate_post("/api/v1/jobs", json=body).json["id"]
    for step in PREPARE[command]:
        assert legacy.client.simulate_get(f"{PATHS[step]}{job_id}").status_code == 200
    return job_id


def actor_client(legacy: Legacy, actor: str, owner: str, other: str) -> tuple[str, Any]:
    name = {"owner": owner, "admin": "admin", "other": other}[actor]
    return name, legacy.client if actor == "admin" else legacy.as_user(name)


@pytest.mark.parametrize("actor", ["owner", "admin", "other"])
@pytest.mark.parametrize("command", list(PATHS))
def test_only_the_owner_or_an_admin_may_command_a_job_through_the_legacy_paths(
    legacy: Legacy, command: str, actor: str
) -> None:
    owner, other = legacy.new_user()["name"], legacy.new_user()["name"]
    job_id = parked_job(legacy, owner, command)
    before = legacy.history(job_id)
    name, client = actor_client(legacy, actor, owner, other)
    result = client.simulate_get(f"{PATHS[command]}{job_id}")
    if actor == "other":
        assert result.status_code == 403 and result.json["title"] == "Forbidden"
        assert owner in result.json["description"]
        assert legacy.history(job_id) == before  # nothing recorded
    else:
        assert result.status_code == 200 and result.headers["JobKeeper-Changed"] == "true"
        after = legacy.history(job_id)
        assert len(after) > len(before)
        assert {event["by"] for event in after[len(before) :]} == {name}
    legacy.client.simulate_get(f"/api/canceljob/{job_id}")


@pytest.mark.parametrize(("word", "command"), [("Stopped", "stop"), ("Running", "resume"),
                                               ("Cancelled", "cancel")])  # fmt: skip
def test_put_of_a_status_word_obeys_the_same_rules(legacy: Legacy, word: str, command: str) -> None:
    owner, other = legacy.new_user()["name"], legacy.new_user()["name"]
    job_id = parked_job(legacy, owner, command)
    before = legacy.history(job_id)
    path, body = f"/api/getdetailedjob/{job_id}/", f"status={word}"
    refused = legacy.as_user(other).simulate_put(path, body=body, headers=FORM)
    assert refused.status_code == 403
    assert legacy.history(job_id) == before
    allowed = legacy.as_user(owner).simulate_put(path, body=body, headers=FORM)
    assert allowed.status_code == 200
    assert legacy.history(job_id)[-1]["by"] == owner
    legacy.client.simulate_get(f"/api/canceljob/{job_id}")


def create_job(client: falcon.testing.TestClient, user: str | int) -> falcon.testing.Result:
    body = {"job_type": "Buybox tracking", "start_time": START, "end_time": end_after(0),
            "user": user}  # fmt: skip
    return client.simulate_post("/api/createjob/", json=body)


def test_createjob_user_is_the_caller_unless_the_caller_is_an_admin(legacy: Legacy) -> None:
    me, other = legacy.new_user(), legacy.new_user()
    mine = legacy.as_user(me["name"])
    by_name, by_id = create_job(mine, me["name"]), create_job(mine, me["id"])
    assert (by_name.status_code, by_id.status_code) == (201, 201)
    assert by_name.json["user"] == by_id.json["user"] == me["name"]
    assert legacy.history(by_name.json["id"])[0]["by"] == me["name"]
    for user in (other["name"], other["id"], "admin"):
        refused = create_job(mine, user)
        assert refused.status_code == 403, user
        assert "only an admin may submit a job for another user" in refused.json["description"]
    for_them = create_job(legacy.client, other["name"])
    assert for_them.status_code == 201 and for_them.json["user"] == other["name"]
    assert for_them.json["id"] == by_id.json["id"] + 1  # the refused ones made no job
    assert legacy.history(for_them.json["id"])[0]["by"] == "admin"


def test_only_an_admin_creates_users_through_the_legacy_path(legacy: Legacy) -> None:
    user = legacy.new_user()["name"]
    fields = {"name": f"{user}-friend", "surname": "Doe", "title": "Analyst"}
    refused = legacy.as_user(user).simulate_post("/api/userlist/", json=fields)
    assert refused.status_code == 403
    assert legacy.client.simulate_get(f"/api/v1/users/{user}-friend").status_code == 404
    assert legacy.client.simulate_post("/api/userlist/", json=fields).status_code == 201


def test_the_legacy_paths_need_a_token_too(legacy: Legacy) -> None:
    anonymous = falcon.testing.TestClient(legacy.client.app)
    for path in ("/api/getjobs/", "/api/userlist/", "/api/stopjob/1", "/api/getalllogs/"):
        result = anonymous.simulate_get(path)
        assert result.status_code == 401 and result.headers["WWW-Authenticate"].startswith(
            "Bearer"
        ), path
