"""The web app on two API processes (scaled mode, PostgreSQL + Redis): a session opened on one
is good on the other, commands sent through either reach the job, and a revocation made
through one ends the session on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SCALED_MARKS
from tests.e2e.cluster import scaled_cluster
from tests.e2e.harness import wait_for
from tests.ui.conftest import Watch, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow, *SCALED_MARKS]


def test_a_session_works_on_every_api_process_and_revocation_ends_it_on_all(
    browser: Any, tmp_path: Path
) -> None:
    with scaled_cluster(tmp_path, apis=2, workers=1) as cluster:
        first, second = cluster.apis
        bob = first.post("/users", {"name": "bob"}, expect=201).json()["token"]
        job = first.http.post(
            f"{first.url}/api/v1/jobs",
            json={"kind": "sleep", "params": {"seconds": 60, "step": 0.2}},
            headers={"Authorization": f"Bearer {bob['token']}"},
            timeout=10,
        ).json()
        # Cookies belong to the host, not the port: both processes get the same session.
        context = browser.new_context()
        page = context.new_page()
        watch = Watch(first.url)
        page.goto(f"{first.url}/sign-in")
        page.get_by_label("Your token").fill(bob["token"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/jobs/running")
        other = context.new_page()
        watch_other = Watch(second.url)
        watch_other.attach(other)
        watch.attach(page)
        other.goto(f"{second.url}/jobs/{job['id']}")
        assert other.locator(".top nav").get_by_role("link", name="bob").is_visible()
        status = other.locator(".summary .status")
        wait_for(lambda: status.inner_text() == "running", 30, "running on the second process")
        other.locator('form[data-command="stop"] button').click()  # CSRF checked by process two
        wait_for(lambda: status.inner_text() == "stopped", 30, "stopped, seen on process two")
        shot(other, "scaled-job-page")
        revoked = first.http.delete(
            f"{first.url}/api/v1/users/bob/tokens/{bob['token_id']}", timeout=10
        )
        assert revoked.status_code == 204
        # Each request reads the token's record: the very next page on either process is the
        # sign-in page (no cache to wait out).
        for tab, server in ((page, first), (other, second)):
            tab.goto(f"{server.url}/jobs")
            assert tab.url.endswith("/sign-in"), server.url
        context.close()
        assert not watch.problems and not watch_other.problems, watch.problems + watch_other.problems
