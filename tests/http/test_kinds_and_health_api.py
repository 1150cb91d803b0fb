"""The kinds list and the health check."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.http.conftest import Api


def test_kinds_list_every_registered_kind_with_its_params_schema(api: Api) -> None:
    result = api.client.simulate_get("/api/v1/kinds")
    assert result.status_code == 200
    kinds = {k["name"]: k for k in result.json["items"]}
    assert {"sleep", "primes", "fail"} <= set(kinds)
    sleep = kinds["sleep"]
    assert set(sleep) == {"name", "summary", "params_schema"}
    assert sleep["summary"]
    assert "seconds" in sleep["params_schema"]["properties"]
    assert "seconds" in sleep["params_schema"]["required"]


def test_healthz_answers_ok(api: Api) -> None:
    result = api.client.simulate_get("/healthz")
    assert result.status_code == 200
    assert result.json == {"status": "ok"}
