"""Creating, listing and reading users, and a user's latest jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon.testing
import pytest

from tests.http.conftest import bearer

if TYPE_CHECKING:
    from tests.http.conftest import Api


def test_create_user_answers_201_with_location_and_the_user(api: Api) -> None:
    body = {"name": "ada.lovelace", "surname": "Lovelace", "title": "Countess", "role": "admin"}
    result = api.client.simulate_post("/api/v1/users", json=body)
    assert result.status_code == 201
    assert result.headers["Location"] == "/api/v1/users/ada.lovelace"
    user = result.json
    token = user.pop("token")
    assert {k: user[k] for k in body} == body
    assert set(user) == {"id", "name", "surname", "title", "role", "created_at"}
    assert api.client.simulate_get("/api/v1/users/ada.lovelace").json == user
    assert set(token) == {"token_id", "token", "label"}
    assert token["token"].startswith(f"jk_ada.lovelace_{token['token_id']}_")
    me = falcon.testing.TestClient(api.client.app, headers=bearer(token["token"]))
    assert me.simulate_get("/api/v1/users/ada.lovelace").json == user  # the token works
    listed = api.client.simulate_get(
        "/api/v1/users", params={"position": result.headers["JobKeeper-Position"], "limit": "1000"}
    ).json["items"]
    assert user in listed


def test_a_taken_name_answers_409(api: Api, user: str) -> None:
    result = api.client.simulate_post("/api/v1/users", json={"name": user})
    assert result.status_code == 409
    assert result.json == {
        "title": "User exists",
        "description": f"a user named {user!r} already exists",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "has space"}, "user name"),
        ({"name": ""}, "user name"),
        ({"name": "system"}, "reserved"),
        ({"name": "number-5"}, "may not start with 'number-'"),
        ({"name": "number-x"}, "reserved for numbering"),
        ({"name": "x" * 65}, "user name"),
        ({"name": "ok1", "role": "king"}, "role"),
        ({"name": 5}, "name"),
        ({}, "name"),
        ({"name": "ok2", "email": "a@b"}, "email"),
        ({"name": "ok3", "surname": "s" * 201}, "surname"),
    ],
)
def test_bad_users_answer_400(api: Api, body: dict[str, object], field: str) -> None:
    result = api.client.simulate_post("/api/v1/users", json=body)
    assert result.status_code == 400
    assert field in result.json["description"]


def test_unknown_users_answer_404(api: Api) -> None:
    for name in ("nobody", "ünïcødé", "a%20b", "x" * 300):
        result = api.client.simulate_get(f"/api/v1/users/{name}")
        assert result.status_code == 404, name
        assert result.json["title"] == "User not found"
        assert api.client.simulate_get(f"/api/v1/users/{name}/jobs").status_code == 404


def test_users_page_with_after(api: Api) -> None:
    names = [api.new_user() for _ in range(3)]
    position = str(api.runtime.app.position())
    everyone = api.client.simulate_get(
        "/api/v1/users", params={"position": position, "limit": "1000"}
    ).json["items"]
    ids = [u["id"] for u in everyone]
    assert ids == sorted(ids) and everyone[0]["name"] == "admin"
    start = next(u["id"] for u in everyone if u["name"] == names[0]) - 1
    page = api.client.simulate_get("/api/v1/users", params={"after": str(start), "limit": "2"})
    assert [u["name"] for u in page.json["items"]] == names[:2]
    assert page.json["next_after"] == page.json["items"][-1]["id"]
    rest = api.client.simulate_get(
        "/api/v1/users", params={"after": str(page.json["next_after"]), "limit": "1"}
    ).json
    assert [u["name"] for u in rest["items"]] == names[2:]


@pytest.mark.parametrize("params", [{"after": "-1"}, {"after": str(2**60)}, {"limit": "0"}])
def test_bad_user_list_parameters_answer_400(api: Api, params: dict[str, str]) -> None:
    result = api.client.simulate_get("/api/v1/users", params=params)
    assert result.status_code == 400
    assert next(iter(params)) in result.json["description"]


def test_a_users_jobs_are_the_last_ten_newest_first(api: Api, user: str) -> None:
    ids = [api.submit(kind="sleep", params={"seconds": 0.05}, owner=user)["id"] for _ in range(12)]
    position = str(api.runtime.app.position())
    jobs = api.client.simulate_get(f"/api/v1/users/{user}/jobs", params={"position": position})
    assert jobs.status_code == 200
    assert [j["id"] for j in jobs.json["items"]] == ids[::-1][:10]
    three = api.client.simulate_get(f"/api/v1/users/{user}/jobs", params={"limit": "3"})
    assert [j["id"] for j in three.json["items"]] == ids[::-1][:3]
    for limit in ("0", "101", "many"):
        bad = api.client.simulate_get(f"/api/v1/users/{user}/jobs", params={"limit": limit})
        assert bad.status_code == 400 and "limit" in bad.json["description"]
    for job_id in ids:
        api.wait_for_status(job_id, "succeeded")


def test_a_user_without_jobs_has_an_empty_last_ten(api: Api) -> None:
    name = api.new_user()
    result = api.client.simulate_get(f"/api/v1/users/{name}/jobs")
    assert result.status_code == 200 and result.json == {"items": []}
