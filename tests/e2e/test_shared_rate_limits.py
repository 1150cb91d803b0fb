"""Two real API processes count one budget in Redis: half spent on each, and the next is 429."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REDIS_URL, SCALED_MARKS
from tests.e2e.cluster import scaled_cluster

pytestmark = [pytest.mark.e2e, *SCALED_MARKS]


def test_two_api_processes_share_each_users_budget(tmp_path: Path) -> None:
    with scaled_cluster(
        tmp_path, apis=2, workers=0, projector=False,
        redis_url=REDIS_URL, rate_reads="6/minute", rate_commands="4/minute",
    ) as cluster:  # fmt: skip
        first, second = cluster.apis
        kinds = [f"{api.url}/api/v1/kinds" for api in (first, second, first, second, first)]
        answers = [first.http.get(url, timeout=10) for url in kinds]
        assert [a.status_code for a in answers] == [200] * 5
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["5", "4", "3", "2", "1"]
        assert second.http.get(f"{second.url}/api/v1/kinds", timeout=10).status_code == 200
        for api in (first, second):
            refused = api.http.get(f"{api.url}/api/v1/kinds", timeout=10)
            assert refused.status_code == 429, refused.text
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # Commands have a budget of their own, shared too.
        users = [f"{api.url}/api/v1/users" for api in (first, second, second, first)]
        made = [first.http.post(u, json={"name": f"shared{n}"}, timeout=10)
                for n, u in enumerate(users)]  # fmt: skip
        assert [m.status_code for m in made] == [201] * 4
        over = second.http.post(f"{second.url}/api/v1/users", json={"name": "late"}, timeout=10)
        assert over.status_code == 429
        # A new user's token has budgets of its own on both processes.
        token = made[0].json()["token"]["token"]
        for api in (first, second):
            mine = api.http.get(
                f"{api.url}/api/v1/kinds", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            assert mine.status_code == 200
