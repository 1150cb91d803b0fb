"""The Idempotency-Key header on submits and commands."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import falcon.testing
import pytest

if TYPE_CHECKING:
    from tests.http.conftest import Api
    from tests.http.fake import FakeService


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_a_retried_submit_answers_the_same_job_and_says_it_is_a_replay(api: Api) -> None:
    headers, body = key(), {**api.SHORT, "name": "once"}
    first = api.client.simulate_post("/api/v1/jobs", json=body, headers=headers)
    again = api.client.simulate_post("/api/v1/jobs", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    quoted = {"Idempotency-Key": f'"{headers["Idempotency-Key"]}"'}  # the draft's sf-string
    assert api.client.simulate_post("/api/v1/jobs", json=body, headers=quoted).json == first.json


def test_the_same_key_with_another_body_answers_422(api: Api) -> None:
    headers = key()
    api.client.simulate_post("/api/v1/jobs", json=api.SHORT, headers=headers)
    other = api.client.simulate_post(
        "/api/v1/jobs", json={**api.SHORT, "name": "another"}, headers=headers
    )
    assert other.status_code == 422
    assert "different request" in other.json["description"]


def test_key_order_and_spacing_of_the_body_do_not_make_another_request(api: Api) -> None:
    headers = key()
    first = api.client.simulate_post(
        "/api/v1/jobs", body='{"kind": "sleep", "params": {"seconds": 0.05}}', headers=headers
    )
    again = api.client.simulate_post(
        "/api/v1/jobs", body='{"params":{"seconds":0.05},"kind":"sleep"}', headers=headers
    )
    assert again.status_code == 201 and again.json["id"] == first.json["id"]


def test_a_retried_command_answers_as_the_first_did(api: Api) -> None:
    job = api.submit(**api.LONG)
    headers = key()
    stop = api.client.simulate_post(f"/api/v1/jobs/{job['id']}/stop", headers=headers)
    api.wait_for_status(job["id"], "stopped")
    api.client.simulate_post(f"/api/v1/jobs/{job['id']}/resume")
    retry = api.client.simulate_post(f"/api/v1/jobs/{job['id']}/stop", headers=headers)
    assert retry.status_code == 200 and retry.json == stop.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["JobKeeper-Changed"] == "false"
    elsewhere = api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
    assert elsewhere.status_code == 422  # the key named another request
    api.client.simulate_post(f"/api/v1/jobs/{job['id']}/cancel")


def test_a_refused_command_is_refused_again_on_retry(api: Api) -> None:
    job = api.submit(**api.SHORT)
    api.wait_for_status(job["id"], "succeeded")
    headers = key()
    first = api.client.simulate_post(f"/api/v1/jobs/{job['id']}/stop", headers=headers)
    again = api.client.simulate_post(f"/api/v1/jobs/{job['id']}/stop", headers=headers)
    assert (first.status_code, again.status_code) == (409, 409)
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"


def test_keys_belong_to_their_user(api: Api) -> None:
    user = api.new_user()
    theirs = falcon.testing.TestClient(
        api.client.app, headers={"Authorization": f"Bearer {api.tokens[user]}"}
    )
    headers = key()
    mine = api.client.simulate_post("/api/v1/jobs", json=api.SHORT, headers=headers)
    other = theirs.simulate_post("/api/v1/jobs", json=api.SHORT, headers=headers)
    assert other.status_code == 201 and other.json["id"] != mine.json["id"]


@pytest.mark.parametrize(
    "value", ["", "with space", "tab\there", "x" * 256, "ünïcode", '""'],
)
def test_malformed_keys_answer_400(
    fake: FakeService, fake_client: falcon.testing.TestClient, value: str
) -> None:
    for path, body in (("/api/v1/jobs", {"kind": "sleep"}), ("/api/v1/jobs/1/stop", None)):
        result = fake_client.simulate_post(path, json=body, headers={"Idempotency-Key": value})
        assert result.status_code == 400, (path, value)
        assert "Idempotency-Key" in result.json["title"]
    assert not fake.app.changes()
