"""Metrics under `jobkeeper api --workers 2`: one consistent answer whichever process serves it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.conftest import SCALED_MARKS
from tests.e2e.cluster import scaled_cluster
from tests.e2e.harness import Server
from tests.observability.test_metrics import value

pytestmark = [pytest.mark.e2e, *SCALED_MARKS]
SUBMITS = 12


def test_every_api_process_answers_the_sum_of_all_of_them(tmp_path: Path) -> None:
    with scaled_cluster(tmp_path, apis=0, workers=1) as cluster:
        api = Server(tmp_path, tmp_path / "api-2.log", cluster.env, ("api", "--workers", "2"))
        try:
            api.wait_healthy()
            headers = {"Authorization": f"Bearer {api.admin_token}", "Connection": "close"}
            job = {"kind": "sleep", "params": {"seconds": 0.1}}
            for _ in range(SUBMITS):  # a new connection each: either process may take it
                answer = requests.post(f"{api.url}/api/v1/jobs", json=job, headers=headers)
                assert answer.status_code == 201
            seen = set()
            for _ in range(10):
                text = requests.get(f"{api.url}/metrics", headers=headers, timeout=10).text
                submits = value(text, "jobkeeper_submits_total", kind="sleep", outcome="recorded")
                created = value(
                    text,
                    "jobkeeper_http_requests_total",
                    route="/api/v1/jobs",
                    method="POST",
                    status="201",
                )
                seen.add((submits, created))
            assert seen == {(SUBMITS, SUBMITS)}
        finally:
            api.stop()
