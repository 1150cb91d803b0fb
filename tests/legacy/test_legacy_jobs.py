"""Creating and reading jobs through the older service's paths, as the older service's own tests did."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests.http.conftest import wait_until
from tests.legacy.conftest import LEGACY_FIELDS, START, end_after

if TYPE_CHECKING:
    from tests.legacy.conftest import Legacy

LEGACY_TYPES = {
    "Product matching": "product-matching",
    "Hourly price comparison": "hourly-price-comparison",
    "Rating - review tracking": "rating-review-tracking",
    "Competition analysis": "competition-analysis",
    "Buybox tracking": "buybox-tracking",
}


def test_createjob_answers_201_with_the_legacy_fields_and_the_job_runs_its_seconds(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    job = legacy.create_job(user["name"], seconds=1)
    assert set(job) == LEGACY_FIELDS
    assert job["status"] == "Running" and job["finished"] is False
    assert job["job_type"] == "Product matching" and job["job_name"] == "nightly"
    assert job["user"] == user["name"]
    assert datetime.fromisoformat(job["start_time"]) == datetime.fromisoformat(START + "+00:00")
    assert datetime.fromisoformat(job["end_time"]) == datetime.fromisoformat(end_after(1) + "Z")
    done = wait_until(lambda: (d := legacy.detail(job["id"]))["finished"] and d)
    assert done["status"] == "Success" and done["progress"] is False
    real = legacy.v1(job["id"])
    assert real["status"] == "succeeded" and real["kind"] == "product-matching"
    ran = datetime.fromisoformat(real["finished_at"]) - datetime.fromisoformat(real["started_at"])
    assert ran.total_seconds() >= 1.0
    assert real["result"] == {"seconds": 1.0}


@pytest.mark.parametrize("job_type", list(LEGACY_TYPES))
def test_each_legacy_job_type_runs_as_its_own_kind(
    legacy: Legacy, user: dict[str, Any], job_type: str
) -> None:
    job = legacy.create_job(user["name"], seconds=0, job_type=job_type, job_name="")
    assert job["job_type"] == job_type and job["job_name"] == job_type
    real = legacy.wait_v1(job["id"], "succeeded")
    assert real["kind"] == LEGACY_TYPES[job_type]
    assert legacy.detail(job["id"])["status"] == "Success"


def test_createjob_takes_json_and_multipart_bodies_and_a_user_id(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    body = {"job_name": "j", "job_type": "Buybox tracking", "start_time": START,
            "end_time": end_after(0), "user": user["id"]}  # fmt: skip
    as_json = legacy.client.simulate_post("/api/createjob", json=body)
    assert as_json.status_code == 201 and as_json.json["user"] == user["name"]
    multipart = (
        b"".join(
            b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
            % (name.encode(), str(value).encode())
            for name, value in body.items()
        )
        + b"--b--\r\n"
    )
    as_form = legacy.client.simulate_post(
        "/api/createjob/",
        body=multipart,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert as_form.status_code == 201, as_form.json
    assert as_form.json["user"] == user["name"] and as_form.json["job_type"] == "Buybox tracking"
    assert as_form.headers["Location"] == f"/api/getdetailedjob/{as_form.json['id']}"


def test_a_user_named_with_digits_is_found_by_name_before_id(legacy: Legacy) -> None:
    numbered = legacy.new_user(name="4242")
    job = legacy.create_job("4242", seconds=0)
    assert job["user"] == "4242" and numbered["id"] != 4242
    by_id = legacy.create_job(str(numbered["id"]), seconds=0)
    assert by_id["user"] == "4242"


def test_getdetailedjob_reads_the_job_and_404s_an_unknown_one(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    job = legacy.create_job(user["name"], seconds=0)
    legacy.wait_v1(job["id"], "succeeded")
    detail = legacy.detail(job["id"])
    assert set(detail) == LEGACY_FIELDS
    assert detail["status"] == "Success" and detail["finished"] is True
    for path in ("/api/getdetailedjob/99999999", "/api/getdetailedjob/0", "/api/getdetailedjob/x"):
        result = legacy.client.simulate_get(path)
        assert result.status_code == 404 and set(result.json) == {"title", "description"}


def test_getjobs_lists_every_job_newest_first(legacy: Legacy, user: dict[str, Any]) -> None:
    first = legacy.create_job(user["name"], seconds=0)
    second = legacy.create_job(user["name"], seconds=0)
    listed = legacy.client.simulate_get("/api/getjobs/").json
    ids = [job["id"] for job in listed]
    assert ids.index(second["id"]) < ids.index(first["id"])
    assert ids == sorted(ids, reverse=True)
    assert all(set(job) == LEGACY_FIELDS for job in listed)


def test_runningjobs_and_getfinishedjobs_split_jobs_by_legacy_status(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    long = legacy.create_job(user["name"], seconds=60)
    short = legacy.create_job(user["name"], seconds=0)
    legacy.wait_v1(long["id"], "running")
    legacy.wait_v1(short["id"], "succeeded")
    running = {job["id"]: job for job in legacy.client.simulate_get("/api/runningjobs/").json}
    assert running[long["id"]]["status"] == "Running" and running[long["id"]]["progress"] is True
    assert short["id"] not in running
    for path in ("/api/getfinishedjobs/", "/api/getfinishedhjobs/"):
        finished = {job["id"]: job for job in legacy.client.simulate_get(path).json}
        assert finished[short["id"]]["status"] == "Success"
        assert finished[short["id"]]["finished"] is True
        assert long["id"] not in finished
    legacy.client.simulate_get(f"/api/canceljob/{long['id']}")


def test_lastjobs_gives_the_users_last_ten_jobs_newest_first(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    ids = [legacy.create_job(user["name"], seconds=0)["id"] for _ in range(12)]
    last = legacy.client.simulate_get(f"/api/lastjobs/{user['name']}").json
    assert [job["id"] for job in last] == ids[::-1][:10]
    assert {job["user"] for job in last} == {user["name"]}
    missing = legacy.client.simulate_get("/api/lastjobs/nobody-at-all")
    assert missing.status_code == 404 and missing.json["title"] == "User not found"


def test_long_lists_come_in_pages_linked_by_the_link_header(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    for _ in range(3):
        legacy.create_job(user["name"], seconds=0)
    everything = [job["id"] for job in legacy.client.simulate_get("/api/getjobs").json]
    pages, path, query = [], "/api/getjobs", "limit=2"
    while path:
        result = legacy.client.simulate_get(path, query_string=query)
        pages.extend(job["id"] for job in result.json)
        link = result.headers.get("Link")
        path, _, query = link[1:].split(">", 1)[0].partition("?") if link else ("", "", "")
    assert pages == everything


def test_a_large_legacy_page_is_streamed_in_chunks_with_the_same_jobs(
    legacy: Legacy, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobkeeper.http.legacy.jobs as legacy_jobs

    created = [legacy.create_job(user["name"], seconds=0)["id"] for _ in range(9)]
    for job_id in created:  # nothing changes between the two reads
        legacy.wait_v1(job_id, "succeeded")
    legacy.runtime.views.wait(legacy.runtime.app.position())
    whole = legacy.client.simulate_get("/api/getjobs", params={"limit": 7})
    reads: list[int] = []
    views = legacy.runtime.views
    stored_jobs = views.stored_jobs

    def counted(columns: Any, **filters: Any) -> Any:
        rows = stored_jobs(columns, **filters)
        reads.append(len(rows))
        return rows

    monkeypatch.setattr(legacy_jobs, "CHUNK", 2)
    monkeypatch.setattr(views, "stored_jobs", counted)
    chunked = legacy.client.simulate_get("/api/getjobs", params={"limit": 7})
    assert chunked.headers["Content-Type"] == "application/json"
    assert chunked.json == whole.json and len(chunked.json) == 7
    assert chunked.headers["Link"] == whole.headers["Link"]
    assert reads[0] == 8 and max(reads[1:]) <= 2 and len(reads) == 5  # ids, then 4 chunks
    ids = [job["id"] for job in chunked.json]
    assert ids == sorted(ids, reverse=True)
    v1 = {job["id"]: job for job in legacy.client.simulate_get("/api/v1/jobs").json["items"]}
    for job in chunked.json:  # the same fields as built from the decoded row
        assert job["created"] == v1[job["id"]]["created_at"]
        assert job["user"] == v1[job["id"]]["owner"]
