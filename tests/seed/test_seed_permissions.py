"""The seed's paths obey the same rules as v1: owners and admins command jobs, a job's `user`
is the caller unless an admin asks, only admins create users; refusals record nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon.testing
import pytest

from tests.http.conftest import LATER
from tests.seed.conftest import FORM, START, end_after

if TYPE_CHECKING:
    from tests.seed.conftest import Seed

PATHS = {
    "stop": "/api/stopjob/",
    "resume": "/api/resumejob/",
    "cancel": "/api/canceljob/",
    "restart": "/api/restartjob/",
}
PREPARE = {"stop": [], "cancel": [], "resume": ["stop"], "restart": ["cancel"]}
"""The commands (by admin) that bring a fresh queued job to where each command is allowed."""


def parked_job(seed: Seed, owner: str, command: str) -> int:
    """A job of `owner` that waits (not_before far ahead), ready for `command`."""
    body = {"kind": "sleep", "params": {"seconds": 1}, "owner": owner, "not_before": LATER}
    job_id: int = seed.client.simulate_post("/api/v1/jobs", json=body).json["id"]
    for step in PREPARE[command]:
        assert seed.client.simulate_get(f"{PATHS[step]}{job_id}").status_code == 200
    return job_id


def actor_client(seed: Seed, actor: str, owner: str, other: str) -> tuple[str, Any]:
    name = {"owner": owner, "admin": "admin", "other": other}[actor]
    return name, seed.client if actor == "admin" else seed.as_user(name)


@pytest.mark.parametrize("actor", ["owner", "admin", "other"])
@pytest.mark.parametrize("command", list(PATHS))
def test_only_the_owner_or_an_admin_may_command_a_job_through_the_seed_paths(
    seed: Seed, command: str, actor: str
) -> None:
    owner, other = seed.new_user()["name"], seed.new_user()["name"]
    job_id = parked_job(seed, owner, command)
    before = seed.history(job_id)
    name, client = actor_client(seed, actor, owner, other)
    result = client.simulate_get(f"{PATHS[command]}{job_id}")
    if actor == "other":
        assert result.status_code == 403 and result.json["title"] == "Forbidden"
        assert owner in result.json["description"]
        assert seed.history(job_id) == before  # nothing recorded
    else:
        assert result.status_code == 200 and result.headers["JobKeeper-Changed"] == "true"
        after = seed.history(job_id)
        assert len(after) > len(before)
        assert {event["by"] for event in after[len(before) :]} == {name}
    seed.client.simulate_get(f"/api/canceljob/{job_id}")


@pytest.mark.parametrize(("word", "command"), [("Stopped", "stop"), ("Running", "resume"),
                                               ("Cancelled", "cancel")])  # fmt: skip
def test_put_of_a_status_word_obeys_the_same_rules(seed: Seed, word: str, command: str) -> None:
    owner, other = seed.new_user()["name"], seed.new_user()["name"]
    job_id = parked_job(seed, owner, command)
    before = seed.history(job_id)
    path, body = f"/api/getdetailedjob/{job_id}/", f"status={word}"
    refused = seed.as_user(other).simulate_put(path, body=body, headers=FORM)
    assert refused.status_code == 403
    assert seed.history(job_id) == before
    allowed = seed.as_user(owner).simulate_put(path, body=body, headers=FORM)
    assert allowed.status_code == 200
    assert seed.history(job_id)[-1]["by"] == owner
    seed.client.simulate_get(f"/api/canceljob/{job_id}")


def create_job(client: falcon.testing.TestClient, user: str | int) -> falcon.testing.Result:
    body = {"job_type": "Buybox tracking", "start_time": START, "end_time": end_after(0),
            "user": user}  # fmt: skip
    return client.simulate_post("/api/createjob/", json=body)


def test_createjob_user_is_the_caller_unless_the_caller_is_an_admin(seed: Seed) -> None:
    me, other = seed.new_user(), seed.new_user()
    mine = seed.as_user(me["name"])
    by_name, by_id = create_job(mine, me["name"]), create_job(mine, me["id"])
    assert (by_name.status_code, by_id.status_code) == (201, 201)
    assert by_name.json["user"] == by_id.json["user"] == me["name"]
    assert seed.history(by_name.json["id"])[0]["by"] == me["name"]
    for user in (other["name"], other["id"], "admin"):
        refused = create_job(mine, user)
        assert refused.status_code == 403, user
        assert "only an admin may submit a job for another user" in refused.json["description"]
    for_them = create_job(seed.client, other["name"])
    assert for_them.status_code == 201 and for_them.json["user"] == other["name"]
    assert for_them.json["id"] == by_id.json["id"] + 1  # the refused ones made no job
    assert seed.history(for_them.json["id"])[0]["by"] == "admin"


def test_only_an_admin_creates_users_through_the_seed_path(seed: Seed) -> None:
    user = seed.new_user()["name"]
    fields = {"name": f"{user}-friend", "surname": "Doe", "title": "Analyst"}
    refused = seed.as_user(user).simulate_post("/api/userlist/", json=fields)
    assert refused.status_code == 403
    assert seed.client.simulate_get(f"/api/v1/users/{user}-friend").status_code == 404
    assert seed.client.simulate_post("/api/userlist/", json=fields).status_code == 201


def test_the_seed_paths_need_a_token_too(seed: Seed) -> None:
    anonymous = falcon.testing.TestClient(seed.client.app)
    for path in ("/api/getjobs/", "/api/userlist/", "/api/stopjob/1", "/api/getalllogs/"):
        result = anonymous.simulate_get(path)
        assert result.status_code == 401 and result.headers["WWW-Authenticate"].startswith(
            "Bearer"
        ), path
