"""Stop, resume, cancel and restart: 200 with the job, 404, or 409."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.http.conftest import Api


def command(api: Api, job_id: int, name: str):  # type: ignore[no-untyped-def]
    return api.client.simulate_post(f"/api/v1/jobs/{job_id}/{name}")


def test_stop_pauses_a_running_job_and_resume_continues_from_its_checkpoint(api: Api) -> None:
    job = api.submit(kind="sleep", params={"seconds": 1.5, "step": 0.05})
    api.wait_for_status(job["id"], "running")
    stop = command(api, job["id"], "stop")
    assert stop.status_code == 200
    assert stop.headers["JobKeeper-Changed"] == "true"
    assert int(stop.headers["JobKeeper-Position"]) >= 1
    assert stop.json["status"] in ("stopping", "stopped")
    assert list(stop.json) == list(api.job(job["id"]))  # the same body as GET
    stopped = api.wait_for_status(job["id"], "stopped")
    assert 0 < stopped["checkpoint"] < 1.5 and stopped["allowed_commands"] == [
        "resume", "cancel", "restart",
    ]  # fmt: skip
    resumed = command(api, job["id"], "resume")
    assert resumed.status_code == 200 and resumed.headers["JobKeeper-Changed"] == "true"
    assert resumed.json["status"] == "queued"
    done = api.wait_for_status(job["id"], "succeeded")
    assert done["attempt"] == 1 and done["result"] == {"slept": 1.5}
    logs = api.client.simulate_get(
        f"/api/v1/jobs/{job['id']}/logs", params={"position": str(api.runtime.app.position())}
    ).json["items"]
    resumed_from = float(logs[1]["text"].split()[1])  # "sleeping <left> of 1.5 seconds"
    assert resumed_from < 1.5


def test_a_command_already_in_effect_answers_200_unchanged_without_position(api: Api) -> None:
    job = api.submit(**api.LONG)
    api.wait_for_status(job["id"], "running")
    assert command(api, job["id"], "stop").headers["JobKeeper-Changed"] == "true"
    again = command(api, job["id"], "stop")
    assert again.status_code == 200
    assert again.headers["JobKeeper-Changed"] == "false"
    assert "JobKeeper-Position" not in again.headers
    assert again.json["status"] in ("stopping", "stopped")
    api.wait_for_status(job["id"], "stopped")
    assert command(api, job["id"], "cancel").json["status"] == "cancelled"


def test_cancel_ends_a_running_job_and_records_who(api: Api) -> None:
    job = api.submit(**api.LONG)
    api.wait_for_status(job["id"], "running")
    cancel = command(api, job["id"], "cancel")
    assert cancel.status_code == 200 and cancel.json["status"] in ("cancelling", "cancelled")
    api.wait_for_status(job["id"], "cancelled")
    history = api.client.simulate_get(f"/api/v1/jobs/{job['id']}/history").json["items"]
    asked = [e for e in history if e["type"] == "CancelRequested"]
    assert asked and asked[0]["by"] == "admin"


def test_restart_runs_a_finished_job_again_as_a_new_attempt(api: Api) -> None:
    job = api.submit(kind="fail", params={"after_steps": 1, "message": "boom"})
    failed = api.wait_for_status(job["id"], "failed")
    assert failed["error"] == "boom"
    restart = command(api, job["id"], "restart")
    assert restart.status_code == 200 and restart.headers["JobKeeper-Changed"] == "true"
    assert restart.json["attempt"] == 2 and restart.json["status"] == "queued"
    again = api.wait_for_status(job["id"], "failed")
    assert again["attempt"] == 2


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("resume", ["cannot resume a job that is succeeded", "restart"]),
        ("stop", ["cannot stop a job that is succeeded", "restart"]),
        ("cancel", ["cannot cancel a job that is succeeded", "restart"]),
    ],
)
def test_forbidden_transitions_answer_409_naming_status_and_allowed(
    api: Api, name: str, words: list[str]
) -> None:
    job = api.submit(**api.SHORT)
    api.wait_for_status(job["id"], "succeeded")
    result = command(api, job["id"], name)
    assert result.status_code == 409
    assert result.json["title"] == "Command not allowed"
    for word in words:
        assert word in result.json["description"]


def test_restart_of_a_running_job_answers_409(api: Api) -> None:
    job = api.submit(**api.LONG)
    api.wait_for_status(job["id"], "running")
    result = command(api, job["id"], "restart")
    assert result.status_code == 409
    assert "running" in result.json["description"] and "stop" in result.json["description"]
    command(api, job["id"], "cancel")
    api.wait_for_status(job["id"], "cancelled")


@pytest.mark.parametrize("name", ["stop", "resume", "cancel", "restart"])
def test_commands_on_unknown_jobs_answer_404(api: Api, name: str) -> None:
    result = command(api, 99999999, name)
    assert result.status_code == 404
    assert result.json["description"] == "there is no job 99999999"


@pytest.mark.parametrize("name", ["stop", "resume", "cancel", "restart"])
def test_commands_answer_405_to_get(api: Api, name: str) -> None:
    assert api.client.simulate_get(f"/api/v1/jobs/1/{name}").status_code == 405
