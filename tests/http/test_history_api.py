"""A job's history in pages (after, limit, type, order) and as a streamed NDJSON download.

The paging runs on each backend against a job with a few hundred events; the inputs a page
refuses are checked on the fake application (they never reach it).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobkeeper.application.history import EVENT_TYPES
from tests.http.conftest import LATER

if TYPE_CHECKING:
    from falcon.testing import TestClient

    from tests.http.conftest import Api
    from tests.http.fake import FakeService

REPORTS = 240
SLOW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def long_job(api: Api) -> int:
    """A stopped job of REPORTS checkpoints: Submitted, Started, Progressed..., StopRequested,
    Stopped (not_before far away, so no worker takes it meanwhile). Its run is recorded under
    the runtime's own worker id, so the liveness sweep never takes it for a lost worker's."""
    app = api.runtime.app
    job_id = int(api.submit(kind="sleep", params={"seconds": 60}, not_before=LATER)["id"])
    app.start(job_id, "run-history", api.runtime.worker_id)
    for step in range(REPORTS):
        app.report(job_id, "run-history", step / REPORTS, {"step": step}, ())
    app.stop(job_id, "admin")
    app.complete_stop(job_id, "run-history", 0.5, {"step": REPORTS}, ())
    return job_id


def pages(client: TestClient, job_id: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of the job's history with `params`, following next_after."""
    out: list[dict[str, Any]] = []
    after = None
    while True:
        query = {**params, **({} if after is None else {"after": after})}
        result = client.simulate_get(f"/api/v1/jobs/{job_id}/history", params=query)
        assert result.status_code == 200, result.json
        assert set(result.json) == {"items", "next_after"}
        out.append(result.json)
        after = result.json["next_after"]
        if after is None:
            return out


def versions(found: list[dict[str, Any]]) -> list[int]:
    return [entry["version"] for page in found for entry in page["items"]]


TOTAL = REPORTS + 4


@SLOW
@given(limit=st.integers(1, TOTAL + 5), descending=st.booleans())
def test_every_event_comes_exactly_once_across_pages(
    api: Api, long_job: int, limit: int, descending: bool
) -> None:
    order = "desc" if descending else "asc"
    found = pages(api.client, long_job, limit=limit, order=order)
    expected = list(range(1, TOTAL + 1))
    assert versions(found) == (expected[::-1] if descending else expected)
    assert all(len(page["items"]) == limit for page in found[:-1])
    assert 1 <= len(found[-1]["items"]) <= limit


@SLOW
@given(
    types=st.sets(st.sampled_from(["Submitted", "Started", "Progressed", "Stopped", "Failed"]),
                  min_size=1),
    limit=st.integers(1, 60),
    descending=st.booleans(),
)  # fmt: skip
def test_a_type_filter_pages_through_exactly_the_events_of_those_types(
    api: Api, long_job: int, types: set[str], limit: int, descending: bool
) -> None:
    everything = api.history(long_job)
    expected = [e["version"] for e in everything if e["type"] in types]
    order = "desc" if descending else "asc"
    found = pages(api.client, long_job, limit=limit, order=order, type=sorted(types))
    assert versions(found) == (expected[::-1] if descending else expected)
    assert {e["type"] for page in found for e in page["items"]} <= types


def test_the_first_page_holds_a_hundred_events_and_entries_keep_their_shape(
    api: Api, long_job: int
) -> None:
    page = api.client.simulate_get(f"/api/v1/jobs/{long_job}/history").json
    assert [e["version"] for e in page["items"]] == list(range(1, 101))
    assert page["next_after"] == 100
    first, third = page["items"][0], page["items"][2]
    assert list(first) == ["version", "type", "at", "by", "data", "hash"]
    assert all(len(e["hash"]) == 64 for e in page["items"])
    assert first["type"] == "Submitted" and first["by"] == "admin"
    assert third == {**third, "type": "Progressed", "by": "system"}
    assert third["data"] == {"progress": 0.0, "checkpoint": {"step": 0}, "lines": []}


def test_newest_first_starts_at_the_latest_event_and_after_is_exclusive(
    api: Api, long_job: int
) -> None:
    path = f"/api/v1/jobs/{long_job}/history"
    newest = api.client.simulate_get(path, params={"order": "desc", "limit": 2}).json
    assert [e["type"] for e in newest["items"]] == ["Stopped", "StopRequested"]
    assert newest["next_after"] == TOTAL - 1
    below = api.client.simulate_get(path, params={"order": "desc", "after": 3}).json
    assert [e["version"] for e in below["items"]] == [2, 1] and below["next_after"] is None
    above = api.client.simulate_get(path, params={"after": TOTAL - 1}).json
    assert [e["version"] for e in above["items"]] == [TOTAL] and above["next_after"] is None
    past = api.client.simulate_get(path, params={"after": TOTAL}).json
    assert past == {"items": [], "next_after": None}


def test_the_ndjson_download_holds_every_entry_as_the_pages_do(api: Api, long_job: int) -> None:
    result = api.client.simulate_get(f"/api/v1/jobs/{long_job}/history.ndjson")
    assert result.status_code == 200
    assert result.headers["Content-Type"] == "application/x-ndjson"
    lines = result.text.splitlines()
    assert len(lines) == TOTAL and result.text.endswith("\n")
    assert [orjson.loads(line) for line in lines] == api.history(long_job)


def test_history_of_an_unknown_job_answers_404(api: Api) -> None:
    for path in ("/api/v1/jobs/999999/history", "/api/v1/jobs/999999/history.ndjson"):
        result = api.client.simulate_get(path)
        assert result.status_code == 404, path
        assert "999999" in result.json["description"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("limit=0", ["limit", "greater than or equal to 1"]),
        ("limit=1001", ["limit", "less than or equal to 1000"]),
        ("limit=ten", ["limit", "integer"]),
        ("after=-1", ["after", "greater than or equal to 0"]),
        ("after=x", ["after", "integer"]),
        ("order=up", ["order", "'asc' or 'desc'"]),
        ("type=Progresed", ["unknown event type 'Progresed'", *EVENT_TYPES]),
        ("type=Started&type=nope", ["unknown event type 'nope'"]),
        ("limit=5&limit=6", ["limit: give this parameter once"]),
    ],
)
def test_bad_history_parameters_answer_400_saying_what_to_fix(
    fake: FakeService, fake_client: TestClient, query: str, words: list[str]
) -> None:
    job_id = fake_client.simulate_post("/api/v1/jobs", json={"kind": "sleep", "params": {
        "seconds": 1}}).json["id"]  # fmt: skip
    result = fake_client.simulate_get(f"/api/v1/jobs/{job_id}/history", query_string=query)
    assert result.status_code == 400
    assert result.json["title"] == "Invalid query"
    for word in words:
        assert word in result.json["description"]
    assert fake.app.called("history_page") == []


def test_a_filtered_page_of_a_long_history_reads_a_bounded_stretch(
    fake: FakeService, fake_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With few matches far apart, a page may come back short (even empty) with a next
    page: every page still reads at most SCAN_LIMIT events, and following the pages finds
    every match once."""
    import jobkeeper.application.history as history

    monkeypatch.setattr(history, "SCAN_LIMIT", 20)
    monkeypatch.setattr(history, "CHUNK", 5)
    job_id = fake_client.simulate_post("/api/v1/jobs", json={"kind": "sleep", "params": {
        "seconds": 1}}).json["id"]  # fmt: skip
    fake_client.simulate_post(f"/api/v1/jobs/{job_id}/stop")
    for _ in range(30):
        fake_client.simulate_post(f"/api/v1/jobs/{job_id}/resume")
        fake_client.simulate_post(f"/api/v1/jobs/{job_id}/stop")
    found = pages(fake_client, job_id, type="Submitted", limit=3)
    assert versions(found) == [1]
    found = pages(fake_client, job_id, type="Resumed", limit=100)
    assert Counter(e["type"] for page in found for e in page["items"]) == {"Resumed": 30}
    assert len(found) > 1  # bounded scans: more than one page though fewer than the limit


def test_integers_beyond_64_bits_come_out_exactly_in_every_history_answer(api: Api) -> None:
    """orjson refuses them; the job, its pages, the NDJSON and the CSV download still hold
    2**70 digit for digit."""
    import json

    big = 2**70
    app = api.runtime.app
    job_id = int(api.submit(kind="sleep", params={"seconds": 60}, not_before=LATER)["id"])
    app.start(job_id, "run-big", api.runtime.worker_id)
    app.report(job_id, "run-big", 0.5, {"big": big}, ())
    app.succeed(job_id, "run-big", {"big": big}, ())
    base = f"/api/v1/jobs/{job_id}"
    job = api.client.simulate_get(base)
    assert job.status_code == 200 and json.loads(job.text)["result"] == {"big": big}
    page = api.client.simulate_get(f"{base}/history")
    assert page.status_code == 200 and str(big) in page.text
    download = api.client.simulate_get(f"{base}/history.ndjson")
    entries = [json.loads(line) for line in download.text.splitlines()]
    assert entries == json.loads(page.text)["items"]
    assert {"big": big} in [entry["data"].get("result") for entry in entries]
    csv = api.client.simulate_get(f"{base}/history.csv")
    assert csv.status_code == 200 and str(big) in csv.text
