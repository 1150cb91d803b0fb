"""Bad input on the older service's paths answers 400, 413 or 415 with a message, never 200 or 500."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.legacy.conftest import FORM, MAX_BODY, START

if TYPE_CHECKING:
    from tests.legacy.conftest import Legacy


def create(legacy: Legacy, **fields: Any) -> Any:
    body = {"job_type": "Product matching", "start_time": START, "end_time": START, **fields}
    return legacy.post_form("/api/createjob/", body)


def test_an_end_before_the_start_is_refused_not_turned_into_a_day_long_job(
    legacy: Legacy, user: dict[str, Any]
) -> None:
    result = create(legacy, user=user["name"], end_time="2021-10-10T09:59:59")
    assert result.status_code == 400
    assert "end_time" in result.json["description"] and "before" in result.json["description"]


def test_a_duration_of_days_keeps_its_days(legacy: Legacy, user: dict[str, Any]) -> None:
    result = create(legacy, user=user["name"], end_time="2021-10-12T10:00:01Z")
    assert result.status_code == 201
    job = legacy.v1(result.json["id"])
    assert job["params"]["end_time"] == "2021-10-12T10:00:01Z"
    legacy.client.simulate_get(f"/api/canceljob/{job['id']}")
    legacy.wait_v1(job["id"], "cancelled")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"start_time": "yesterday"}, "start_time"),
        ({"end_time": "10:00"}, "end_time"),
        ({"end_time": "2021-13-01T00:00:00"}, "end_time"),
        ({"end_time": "2023-10-10T10:00:00"}, "at most"),
        ({"job_type": "Sleeping"}, "job_type"),
        ({"job_type": ""}, "job_type"),
        ({"user": "nobody-here"}, "no user"),
        ({"user": "999999"}, "no user"),
        ({"user": "has space"}, "user"),
        ({"job_name": "n" * 201}, "job_name"),
    ],
)
def test_bad_fields_answer_400_naming_what_to_fix(
    legacy: Legacy, user: dict[str, Any], fields: dict[str, str], words: str
) -> None:
    result = create(legacy, **{"user": user["name"], **fields})
    assert result.status_code == 400, result.json
    assert words in result.json["description"]


def test_missing_fields_are_named(legacy: Legacy) -> None:
    result = legacy.post_form("/api/createjob/", {"job_name": "x"})
    assert result.status_code == 400
    for field in ("job_type", "start_time", "end_time", "user"):
        assert field in result.json["description"]


@pytest.mark.parametrize("path", ["/api/createjob/", "/api/userlist/"])
def test_forms_are_read_strictly(legacy: Legacy, path: str) -> None:
    cases = [
        (b"name=a&name=b", {"Content-Type": "application/x-www-form-urlencoded"}, 400),
        (b"name=%FF", FORM, 400),
        (b"\xff\xfe", FORM, 400),
        (b"--x\r\nbroken", {"Content-Type": "multipart/form-data; boundary=x"}, 400),
        (b"name=x", {"Content-Type": "multipart/form-data"}, 400),
        (b"name=x", {"Content-Type": "text/plain"}, 415),
        (b"name=" + b"x" * MAX_BODY, FORM, 413),
        (b"{", {"Content-Type": "application/json"}, 400),
    ]
    for body, headers, status in cases:
        result = legacy.client.simulate_post(path, body=body, headers=headers)
        assert result.status_code == status, (body[:20], headers, result.json)
        assert set(result.json) == {"title", "description"}


def test_fields_the_legacy_ignored_are_ignored(legacy: Legacy, user: dict[str, Any]) -> None:
    result = create(legacy, user=user["name"], csrfmiddlewaretoken="abc", status="Success", id=7)
    assert result.status_code == 201
    assert result.json["status"] == "Running" and result.json["id"] != 7
