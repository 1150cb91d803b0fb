"""Audit over the API: a job's chain checked, the anchors, the views against the log, and a
job's history as CSV. Rows changed in the database are named by the API on each backend."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import falcon.testing
import orjson
import pytest

from jobkeeper.application.audit import heads_digest, load_anchors, sign
from jobkeeper.http.app import create_app
from tests.conftest import SCALED_MARKS
from tests.http.conftest import LATER, bearer, running
from tests.tampering import Rows

if TYPE_CHECKING:
    from tests.http.conftest import Api


def stopped_job(api: Api, reports: int = 5) -> int:
    app = api.runtime.app
    job_id = int(api.submit(kind="sleep", params={"seconds": 60}, not_before=LATER)["id"])
    app.start(job_id, "run-audit", api.runtime.worker_id)
    for step in range(reports):
        app.report(job_id, "run-audit", step / reports, {"step": step, "é": "ü"}, ())
    app.stop(job_id, "admin")
    app.complete_stop(job_id, "run-audit", 0.5, {"step": reports}, ())
    return job_id


def test_an_untouched_job_verifies_intact_and_its_head_is_its_last_entry(api: Api) -> None:
    job_id = stopped_job(api)
    report = api.client.simulate_get(f"/api/v1/jobs/{job_id}/verify")
    assert report.status_code == 200, report.json
    history = api.history(job_id)
    assert report.json == {
        "stream": f"job-{job_id}", "intact": True, "events": len(history), "unhashed": 0,
        "hashed_from": 1, "head": {"version": len(history), "hash": history[-1]["hash"]},
        "broken": None,
    }  # fmt: skip
    missing = api.client.simulate_get("/api/v1/jobs/999999/verify")
    assert missing.status_code == 404 and "999999" in missing.json["description"]


def test_the_history_downloads_as_csv_with_the_hashes_of_the_ndjson(api: Api) -> None:
    job_id = stopped_job(api)
    answer = api.client.simulate_get(f"/api/v1/jobs/{job_id}/history.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"job-{job_id}-history.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"))))
    lines = api.client.simulate_get(f"/api/v1/jobs/{job_id}/history.ndjson").text.splitlines()
    entries = [orjson.loads(line) for line in lines]
    assert (
        [r["hash"] for r in rows]
        == [e["hash"] for e in entries]
        == [e["hash"] for e in api.history(job_id)]
    )
    assert [json.loads(r["data"]) for r in rows] == [e["data"] for e in entries]
    assert rows[2]["type"] == "Progressed" and json.loads(rows[2]["data"])["checkpoint"] == {
        "step": 0, "é": "ü"
    }  # fmt: skip
    assert api.client.simulate_get("/api/v1/jobs/999999/history.csv").status_code == 404


def test_the_anchors_are_for_admins_and_digest_every_head(api: Api) -> None:
    job_id = stopped_job(api)
    answer = api.client.simulate_get("/api/v1/audit/head")
    assert answer.status_code == 200
    heads = {h["stream"]: h for h in answer.json["heads"]}
    assert heads[f"job-{job_id}"]["hash"] == api.history(job_id)[-1]["hash"]
    assert "user-admin" in heads and "signature" not in answer.json  # no key set
    assert set(load_anchors(answer.text)) == set(heads)
    user = api.new_user()
    refused = api.as_user(user).simulate_get("/api/v1/audit/head")
    assert refused.status_code == 403 and "admins" in refused.json["description"]


def test_the_views_agree_with_the_log_and_the_rows_compared_are_counted(api: Api) -> None:
    stopped_job(api)
    api.runtime.views.wait(api.runtime.app.position(), 10)
    answer = api.client.simulate_get("/api/v1/audit/views")
    assert answer.status_code == 200, answer.json
    assert answer.json["intact"] is True and answer.json["differences"] == []
    assert answer.json["rows"]["jobs"]["match"] >= 1 and answer.json["rows"]["users"]["match"] >= 1
    metrics = api.client.simulate_get("/metrics").text
    counted = [
        line for line in metrics.splitlines()
        if line.startswith('jobkeeper_view_rows_verified_total{outcome="match",table="jobs"}')
    ]  # fmt: skip
    assert counted and float(counted[0].split()[-1]) >= answer.json["rows"]["jobs"]["match"]
    user = api.new_user()
    assert api.as_user(user).simulate_get("/api/v1/audit/views").status_code == 403


@pytest.mark.parametrize("backend", ["embedded", pytest.param("scaled", marks=SCALED_MARKS)])
def test_a_row_changed_in_the_database_is_named_by_the_api(tmp_path: Path, backend: str) -> None:
    with running(tmp_path, backend, audit_key="the key") as runtime:
        assert runtime.admin_token is not None
        client = falcon.testing.TestClient(create_app(runtime), headers=bearer(runtime.admin_token))
        kept = client.simulate_get("/api/v1/audit/head").json
        assert kept["signature"] == sign(
            heads_digest(load_anchors(json.dumps(kept)).values()), "the key"
        )
        created = client.simulate_post(
            "/api/v1/jobs", json={"kind": "sleep", "params": {"seconds": 60}, "not_before": LATER}
        )
        job_id = created.json["id"]
        runtime.app.cancel(job_id, "admin")
        runtime.views.wait(runtime.app.position(), 10)
        assert client.simulate_get("/api/v1/audit/views").json["intact"] is True
        rows = Rows(runtime.settings.store_env())
        state = rows.state(f"job-{job_id}", 1)
        state["params"] = {"seconds": 1}
        rows.set_state(f"job-{job_id}", 1, state)
        report = client.simulate_get(f"/api/v1/jobs/{job_id}/verify").json
        assert report["intact"] is False and report["broken"]["version"] == 1
        assert "content differs" in report["broken"]["problem"]
        views = client.simulate_get("/api/v1/audit/views").json
        assert views["intact"] is False
        assert views["rows"]["jobs"]["differ"] == 1
        assert any(f"jobs {job_id}: params" in d for d in views["differences"])
