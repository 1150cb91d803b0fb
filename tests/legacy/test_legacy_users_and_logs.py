"""Users and log lines through the older service's paths."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.http.conftest import wait_until

if TYPE_CHECKING:
    from tests.legacy.conftest import Legacy


def test_userlist_creates_users_with_sequential_ids_and_lists_them(legacy: Legacy) -> None:
    first = legacy.new_user(surname="Lovelace", title="Countess")
    second = legacy.new_user()
    assert set(first) == {"id", "name", "surname", "title"}
    assert (first["surname"], first["title"]) == ("Lovelace", "Countess")
    assert second["id"] == first["id"] + 1
    listed = legacy.client.simulate_get("/api/userlist/").json
    assert first in listed and second in listed
    assert [u["id"] for u in listed] == sorted(u["id"] for u in listed)


def test_userlist_takes_json_and_answers_409_for_a_taken_name(legacy: Legacy) -> None:
    created = legacy.client.simulate_post("/api/userlist", json={"name": "grace.hopper"})
    assert created.status_code == 201
    assert created.json == {"id": created.json["id"], "name": "grace.hopper", "surname": "",
                            "title": ""}  # fmt: skip
    again = legacy.post_form("/api/userlist/", {"name": "grace.hopper"})
    assert again.status_code == 409 and again.json["title"] == "User exists"
    bad = legacy.post_form("/api/userlist/", {"name": "has space"})
    assert bad.status_code == 400 and "user name" in bad.json["description"]


def test_getlogs_gives_a_jobs_lines_and_reading_them_writes_nothing(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    job = legacy.create_job(user["name"], seconds=1, job_type="Competition analysis")
    legacy.wait_v1(job["id"], "succeeded")
    lines = wait_until(
        lambda: (
            (got := legacy.client.simulate_get(f"/api/getlogs/{job['id']}/").json)
            and "finished" in got[-1]["text"]
            and got
        )
    )
    assert all(set(line) == {"text", "created"} for line in lines)
    assert lines[0]["text"].startswith("Competition analysis: starting")
    assert lines[-1]["text"] == "Competition analysis: finished after 1 s"
    assert legacy.client.simulate_get(f"/api/getlogs/{job['id']}").json == lines
    history = legacy.client.simulate_get(f"/api/v1/jobs/{job['id']}/history").json["items"]
    assert all(entry["by"] in ("admin", "system") for entry in history)
    everything = legacy.client.simulate_get("/api/getalllogs/", params={"limit": "10000"}).json
    assert [line for line in everything if line in lines] == lines


def test_getlogs_of_an_unknown_job_answers_404(legacy: Legacy) -> None:
    result = legacy.client.simulate_get("/api/getlogs/99999999")
    assert result.status_code == 404 and result.json["title"] == "Job not found"
