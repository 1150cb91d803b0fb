"""Domain errors map to HTTP once; anything unexpected is a logged JSON 500.

The HTTP layer alone, on the fake application (tests/http/fake.py), made to raise.
"""

from __future__ import annotations

import logging

import falcon.testing
import pytest

from jobkeeper.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidJobError,
    InvalidUserError,
    JobNotFoundError,
    KeyInFlightError,
    KeyReusedError,
    ReplayedError,
    TransitionError,
    UserExistsError,
    UserNotFoundError,
)
from tests.http.fake import FakeService

Client = falcon.testing.TestClient


def stop_raising(fake: FakeService, client: Client, error: Exception) -> falcon.testing.Result:
    """POST /jobs/3/stop, with the application's job commands raising `error`."""
    fake.app.fail("command", error)
    result = client.simulate_post("/api/v1/jobs/3/stop")
    assert [call.args for call in fake.app.called("command")] == [
        {"name": "stop", "job_id": 3, "by": "admin", "keyed": None}
    ]
    return result


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (JobNotFoundError(3), 404, "Job not found"),
        (UserNotFoundError("ann"), 404, "User not found"),
        (TransitionError("stop", "succeeded", ("restart",)), 409, "Command not allowed"),
        (InvalidJobError("bad params"), 400, "Invalid job"),
        (InvalidUserError("bad name"), 400, "Invalid user"),
        (UserExistsError("ann"), 409, "User exists"),
        (ConflictError("job 3 changed while the command was applied"), 409, "Conflict"),
        (
            ForbiddenError("only the job's owner (bob) or an admin may command job 3"),
            403,
            "Forbidden",
        ),
        (KeyReusedError("this Idempotency-Key was used for a different request"), 422,
         "Idempotency key reused"),
        (KeyInFlightError("a request with this Idempotency-Key is still being answered"), 409,
         "Request in progress"),
        (ReplayedError("TransitionError", "cannot stop a job that is succeeded"), 409,
         "Command not allowed"),
        (ReplayedError("ForbiddenError", "only the job's owner may"), 403, "Forbidden"),
    ],
)  # fmt: skip
def test_each_domain_error_has_its_status_and_its_message(
    fake: FakeService, fake_client: Client, error: Exception, status: int, title: str
) -> None:
    result = stop_raising(fake, fake_client, error)
    assert result.status_code == status
    assert result.json == {"title": title, "description": str(error)}
    assert result.headers["Content-Type"] == "application/json"
    replayed = result.headers.get("Idempotent-Replayed")
    assert replayed == ("true" if isinstance(error, ReplayedError) else None)


def test_an_unexpected_error_is_logged_and_answers_json_500(
    fake: FakeService, fake_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="jobkeeper.http.errors"):
        result = stop_raising(fake, fake_client, RuntimeError("the disk is on fire"))
    assert result.status_code == 500
    assert set(result.json) == {"title", "description"}
    assert "fire" not in result.json["description"]
    assert any(r.exc_info and "the disk is on fire" in str(r.exc_info[1]) for r in caplog.records)


def test_unknown_paths_answer_json_404_naming_the_path(fake_client: Client) -> None:
    result = fake_client.simulate_get("/api/v1/nothing/here")
    assert result.status_code == 404
    assert result.json == {
        "title": "Not found",
        "description": "there is nothing at /api/v1/nothing/here",
    }


def test_wrong_methods_answer_json_405(fake_client: Client) -> None:
    result = fake_client.simulate_delete("/api/v1/jobs")
    assert result.status_code == 405
    assert set(result.json) == {"title", "description"}
    assert "GET" in result.headers["Allow"] and "POST" in result.headers["Allow"]
