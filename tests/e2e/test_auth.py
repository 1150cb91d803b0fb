"""The real server: admin's first token, 401 without a token, per-user budgets from the settings."""

from __future__ import annotations

import stat
from collections.abc import Callable

import pytest
import requests

from tests.e2e.harness import Server

pytestmark = pytest.mark.e2e


def test_the_first_start_prints_admins_token_and_every_route_but_the_public_ones_needs_it(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(env={"JOBKEEPER_RATE_COMMANDS": "2/minute"})
    token_file = server.data / "admin-token"
    token = token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token in server.output()  # printed once, at the first start
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert requests.get(f"{server.url}/docs", timeout=5).status_code == 200
    anonymous = requests.get(f"{server.url}/api/v1/jobs", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.json()["title"] == "Unauthorized"
    assert server.get("/jobs")["items"] == []  # the harness sends the file's token
    made = server.post("/users", {"name": "ann"}, expect=201).json()
    ann = {"Authorization": f"Bearer {made['token']['token']}"}
    job = requests.post(
        f"{server.url}/api/v1/jobs", json={"kind": "sleep", "params": {"seconds": 0.1}},
        headers=ann, timeout=5,
    ).json()  # fmt: skip
    assert job["owner"] == "ann"
    server.post("/users", {"name": "bob"}, expect=201)  # admin's second command of two
    over = server.http.post(f"{server.url}/api/v1/users", json={"name": "cy"}, timeout=5)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
    history = server.history(job["id"])
    assert history[0]["by"] == "ann"
