"""Log lines of one job and of all jobs, paged with `after`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.http.conftest import Api


def finished_job_with_lines(api: Api, steps: int) -> dict[str, object]:
    job = api.submit(kind="fail", params={"after_steps": steps, "message": "done failing"})
    api.wait_for_status(job["id"], "failed")
    return job


def test_job_logs_page_through_every_line_in_order(api: Api) -> None:
    job = finished_job_with_lines(api, 5)
    position = str(api.runtime.app.position())
    lines, after = [], "0"
    for _ in range(10):
        page = api.client.simulate_get(
            f"/api/v1/jobs/{job['id']}/logs",
            params={"after": after, "limit": "2", "position": position},
        )
        assert page.status_code == 200
        lines += page.json["items"]
        if page.json["next_after"] is None:
            break
        after = str(page.json["next_after"])
    assert [line["text"] for line in lines[:5]] == [f"step {n} of 5" for n in range(1, 6)]
    assert [line["line"] for line in lines] == list(range(1, len(lines) + 1))
    assert any("done failing" in line["text"] for line in lines[5:])  # the traceback
    assert {line["job_id"] for line in lines} == {job["id"]}
    assert set(lines[0]) == {"id", "job_id", "line", "at", "text"}


def test_all_logs_include_every_job_in_recorded_order(api: Api) -> None:
    first = finished_job_with_lines(api, 1)
    second = finished_job_with_lines(api, 1)
    position = str(api.runtime.app.position())
    items = []
    after = "0"
    while True:
        page = api.client.simulate_get(
            "/api/v1/logs", params={"after": after, "limit": "1000", "position": position}
        ).json
        items += page["items"]
        if page["next_after"] is None:
            break
        after = str(page["next_after"])
    ids = [line["id"] for line in items]
    assert ids == sorted(ids)
    jobs = [line["job_id"] for line in items]
    assert first["id"] in jobs and second["id"] in jobs
    assert jobs.index(first["id"]) < jobs.index(second["id"])


def test_logs_of_an_unknown_job_answer_404(api: Api) -> None:
    result = api.client.simulate_get("/api/v1/jobs/7777777/logs")
    assert result.status_code == 404
    assert result.json["title"] == "Job not found"


@pytest.mark.parametrize(
    "params",
    [
        {"after": "-1"}, {"after": "x"}, {"after": str(2**63)}, {"limit": "0"},
        {"limit": "1001"}, {"limit": "1.5"}, {"position": "[]"},
    ],
)  # fmt: skip
def test_bad_log_parameters_answer_400(api: Api, params: dict[str, str]) -> None:
    job = api.submit(**api.SHORT)
    for path in ("/api/v1/logs", f"/api/v1/jobs/{job['id']}/logs"):
        result = api.client.simulate_get(path, params=params)
        assert result.status_code == 400, path
        assert next(iter(params)) in result.json["description"]


def test_logs_after_the_last_line_are_empty(api: Api) -> None:
    result = api.client.simulate_get("/api/v1/logs", params={"after": str(2**63 - 1)})
    assert result.status_code == 200
    assert result.json == {"items": [], "next_after": None}


def test_a_job_without_lines_has_an_empty_log(api: Api, user: str) -> None:
    job = api.submit(**api.SHORT, owner=user, not_before="2099-01-01T00:00:00Z")
    result = api.client.simulate_get(f"/api/v1/jobs/{job['id']}/logs")
    assert result.status_code == 200 and result.json["items"] == []
