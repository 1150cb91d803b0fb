"""Stop, resume, cancel and restart through the older service's paths; the real state checked via v1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.http.conftest import wait_until
from tests.legacy.conftest import LEGACY_FIELDS

if TYPE_CHECKING:
    from tests.legacy.conftest import Legacy


def command(legacy: Legacy, path: str, job_id: int, status: int = 200) -> Any:
    """GET a legacy command path; its JSON after asserting `status`."""
    result = legacy.client.simulate_get(f"{path}{job_id}")
    assert result.status_code == status, result.json
    return result.json


def running_job(legacy: Legacy, user: dict[str, Any]) -> dict[str, Any]:
    """A long legacy job, once a worker runs it and it has a checkpoint."""
    job = legacy.create_job(user["name"], seconds=120)
    wait_until(lambda: legacy.v1(job["id"])["checkpoint"])
    return job


def test_stopjob_pauses_the_job_keeping_its_progress(legacy: Legacy, user: dict[str, Any]) -> None:
    job = running_job(legacy, user)
    answer = command(legacy, "/api/stopjob/", job["id"])
    assert [j["id"] for j in answer] == [job["id"]] and set(answer[0]) == LEGACY_FIELDS
    real = legacy.wait_v1(job["id"], "stopped")
    assert real["checkpoint"] > 0 and 0 < real["progress"] < 1
    detail = legacy.detail(job["id"])
    assert (detail["status"], detail["progress"], detail["finished"]) == ("Stopped", False, False)
    assert command(legacy, "/api/stopjob/", job["id"])[0]["status"] == "Stopped"  # already so
    command(legacy, "/api/canceljob/", job["id"])


def test_resumejob_continues_a_stopped_job_from_its_checkpoint(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    job = running_job(legacy, user)
    command(legacy, "/api/stopjob/", job["id"])
    stopped = legacy.wait_v1(job["id"], "stopped")
    answer = command(legacy, "/api/resumejob/", job["id"])
    assert answer[0]["status"] == "Running"
    wait_until(lambda: legacy.v1(job["id"])["checkpoint"] > stopped["checkpoint"])
    real = legacy.v1(job["id"])
    assert real["status"] == "running" and real["attempt"] == 1
    assert legacy.detail(job["id"])["progress"] is True
    command(legacy, "/api/canceljob/", job["id"])


def test_canceljob_ends_a_running_job_for_good(legacy: Legacy, user: dict[str, Any]) -> None:
    job = running_job(legacy, user)
    command(legacy, "/api/canceljob/", job["id"])
    real = legacy.wait_v1(job["id"], "cancelled")
    assert real["result"] is None
    detail = legacy.detail(job["id"])
    assert (detail["status"], detail["finished"], detail["progress"]) == ("Cancelled", True, False)
    conflict = command(legacy, "/api/stopjob/", job["id"], status=409)
    assert conflict["title"] == "Command not allowed" and "cancelled" in conflict["description"]
    assert command(legacy, "/api/resumejob/", job["id"], status=409)["title"] == "Command not allowed"


@pytest.mark.parametrize("path", ["/api/restartjob/", "/api/restart/"])
def test_restart_runs_a_finished_job_again_as_a_new_attempt(
    legacy: Legacy, user: dict[str, Any], path: str
) -> None:
    job = legacy.create_job(user["name"], seconds=0)
    legacy.wait_v1(job["id"], "succeeded")
    answer = command(legacy, path, job["id"])
    assert answer[0]["status"] == "Running" and answer[0]["finished"] is False
    real = wait_until(lambda: (j := legacy.v1(job["id"]))["attempt"] == 2 and j)
    assert real["status"] in ("queued", "running", "succeeded")
    assert legacy.wait_v1(job["id"], "succeeded")["attempt"] == 2


def test_restarting_a_running_job_is_refused_instead_of_starting_a_second_copy(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    job = running_job(legacy, user)
    conflict = command(legacy, "/api/restartjob/", job["id"], status=409)
    assert "running" in conflict["description"]
    assert legacy.v1(job["id"])["attempt"] == 1
    command(legacy, "/api/canceljob/", job["id"])


@pytest.mark.parametrize(
    "path", ["/api/canceljob/", "/api/stopjob/", "/api/resumejob/", "/api/restartjob/"]
)
def test_commands_on_unknown_jobs_answer_404_not_200(legacy: Legacy, path: str) -> None:
    for job_id in ("99999999", "0", "-1", "abc", str(2**60)):
        result = legacy.client.simulate_get(f"{path}{job_id}")
        assert result.status_code == 404, (path, job_id)
        assert set(result.json) == {"title", "description"}


def put_status(legacy: Legacy, job_id: int, status: str, code: int = 200) -> Any:
    """PUT a status word to /api/getdetailedjob/{id} as a form; its JSON after `code`."""
    result = legacy.client.simulate_put(
        f"/api/getdetailedjob/{job_id}/",
        body=f"status={status}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert result.status_code == code, result.json
    return result.json


def test_put_getdetailedjob_stops_resumes_and_cancels_by_status_word(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    job = running_job(legacy, user)
    assert set(put_status(legacy, job["id"], "Stopped")) == LEGACY_FIELDS
    legacy.wait_v1(job["id"], "stopped")
    put_status(legacy, job["id"], "Running")
    legacy.wait_v1(job["id"], "queued", "running")
    put_status(legacy, job["id"], "Cancelled")
    legacy.wait_v1(job["id"], "cancelled")
    assert legacy.detail(job["id"])["status"] == "Cancelled"


@pytest.mark.parametrize("status", ["Success", "Failed", "running", ""])
def test_put_getdetailedjob_refuses_other_status_words(
    legacy: Legacy, user: dict[str, Any], status: str
) -> None:
    job = legacy.create_job(user["name"], seconds=0)
    error = put_status(legacy, job["id"], status, code=400)
    assert "'Stopped', 'Running' or 'Cancelled'" in error["description"]
    assert put_status(legacy, 99999999, "Stopped", code=404)["title"] == "Job not found"
