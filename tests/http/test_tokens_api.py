"""Tokens: issued (shown once), listed without secrets, revoked; kept only as hashes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import falcon.testing
import pytest

from jobkeeper.domain.tokens import digest
from tests.conftest import POSTGRES_URL
from tests.http.conftest import JSON_BODY, bearer, recorded_since

if TYPE_CHECKING:
    from tests.http.conftest import Api


def tokens_path(name: str, token_id: str = "") -> str:
    return f"/api/v1/users/{name}/tokens" + (f"/{token_id}" if token_id else "")


def test_a_user_issues_lists_reads_and_revokes_their_own_tokens(api: Api) -> None:
    name = api.new_user()
    me = api.as_user(name)
    issued = me.simulate_post(tokens_path(name), json={"label": "laptop"})
    assert issued.status_code == 201
    token = issued.json
    assert set(token) == {"token_id", "token", "label"} and token["label"] == "laptop"
    assert token["token"].startswith(f"jk_{name}_{token['token_id']}_")
    assert issued.headers["Location"] == tokens_path(name, token["token_id"])
    laptop = falcon.testing.TestClient(api.client.app, headers=bearer(token["token"]))
    assert laptop.simulate_get(f"/api/v1/users/{name}").status_code == 200

    listed = me.simulate_get(tokens_path(name)).json["items"]
    assert [(t["token_id"], t["label"]) for t in listed][-1] == (token["token_id"], "laptop")
    assert [t["label"] for t in listed] == ["first token", "laptop"]
    assert all(set(t) == {"token_id", "label", "issued_at"} for t in listed)
    one = me.simulate_get(tokens_path(name, token["token_id"]))
    assert one.status_code == 200 and one.json == listed[-1]

    assert me.simulate_delete(tokens_path(name, token["token_id"])).status_code == 204
    assert laptop.simulate_get(f"/api/v1/users/{name}").status_code == 401
    assert me.simulate_get(f"/api/v1/users/{name}").status_code == 200  # the other token lives
    again = me.simulate_delete(tokens_path(name, token["token_id"]))
    assert again.status_code == 404 and again.json["title"] == "Token not found"
    assert me.simulate_get(tokens_path(name, token["token_id"])).status_code == 404


def test_the_body_of_a_token_request_may_be_left_out_but_not_be_wrong(api: Api) -> None:
    name = api.new_user()
    me = api.as_user(name)
    bare = me.simulate_post(tokens_path(name))
    assert bare.status_code == 201 and bare.json["label"] == ""
    for body, field in ((b'{"label": 5}', "label"), (b'{"lable": "x"}', "lable"),
                        (b'{"label": "' + b"x" * 201 + b'"}', "label"), (b"[]", "list")):  # fmt: skip
        wrong = me.simulate_post(tokens_path(name), body=body, headers=JSON_BODY)
        assert wrong.status_code == 400 and field in wrong.json["description"], body


def test_only_the_user_or_an_admin_manages_a_users_tokens(api: Api) -> None:
    owner, other = api.new_user(), api.new_user()
    token_id = api.tokens[owner].split("_")[-2]
    stranger = api.as_user(other)
    position = api.runtime.app.position()
    for method, path in (
        ("POST", tokens_path(owner)),
        ("GET", tokens_path(owner)),
        ("GET", tokens_path(owner, token_id)),
        ("DELETE", tokens_path(owner, token_id)),
    ):
        result = stranger.simulate_request(method, path)
        assert result.status_code == 403, (method, path)
        assert result.json["title"] == "Forbidden"
    assert recorded_since(api.runtime, position, by=other) == []  # nothing recorded
    assert api.as_user(owner).simulate_get(f"/api/v1/users/{owner}").status_code == 200
    by_admin = api.client.simulate_post(tokens_path(owner), json={"label": "from admin"})
    assert by_admin.status_code == 201
    assert api.client.simulate_get(tokens_path(owner)).status_code == 200
    revoked = api.client.simulate_delete(tokens_path(owner, by_admin.json["token_id"]))
    assert revoked.status_code == 204


def test_tokens_of_unknown_users_or_ids_answer_404(api: Api) -> None:
    for method in ("GET", "POST"):
        result = api.client.simulate_request(method, tokens_path("nobody"))
        assert result.status_code == 404 and result.json["title"] == "User not found", method
    for method in ("GET", "DELETE"):
        unknown_user = api.client.simulate_request(method, tokens_path("nobody", "0badc0de"))
        assert unknown_user.status_code == 404, method
        unknown_id = api.client.simulate_request(method, tokens_path("admin", "0badc0de"))
        assert unknown_id.status_code == 404 and unknown_id.json["title"] == "Token not found"


def test_tokens_are_kept_only_as_hashes(api: Api) -> None:
    name = api.new_user()
    second = api.as_user(name).simulate_post(tokens_path(name), json={"label": "ci"}).json["token"]
    tokens = [api.tokens[name], second]
    api.runtime.views.wait(api.runtime.app.position(), 5)  # the views have seen the tokens' events
    if api.runtime.settings.database_url:
        found = postgres_rows_holding(api.runtime.settings.database_url, tokens)
    else:
        found = sqlite_files_holding(api.runtime.settings.data, tokens)
    assert found == []
    assert postgres_or_sqlite_holds(api, digest(second))  # the hash is what is kept


def sqlite_files_holding(data: Path, needles: list[str]) -> list[str]:
    """The store's files (write-ahead logs included) that contain any of `needles`."""
    files = sorted(p for p in data.iterdir() if p.name.startswith(("events.db", "views.db")))
    assert {p.name for p in files} >= {"events.db", "events.db-wal", "views.db"}
    return [p.name for p in files for n in needles if n.encode() in p.read_bytes()]


def postgres_rows_holding(url: str, needles: list[str]) -> list[str]:
    """The tables of the store's schema that hold any of `needles` in any row (text or bytes)."""
    import psycopg

    schema = url.split("schema=")[1]
    found = []
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        assert tables
        for (table,) in tables:
            for needle in needles:
                hits = connection.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" AS t '
                    "WHERE t::text LIKE %s OR t::text LIKE %s",
                    (f"%{needle}%", f"%{needle.encode().hex()}%"),
                ).fetchone()
                if hits and hits[0]:
                    found.append(table)
    return found


def postgres_or_sqlite_holds(api: Api, needle: str) -> bool:
    if api.runtime.settings.database_url:
        return bool(postgres_rows_holding(api.runtime.settings.database_url, [needle]))
    return bool(sqlite_files_holding(api.runtime.settings.data, [needle]))


@pytest.mark.parametrize("token_id", ["a" * 65, "has space", "ü", "..", "a.b"])
def test_token_ids_that_cannot_be_ids_answer_404(api: Api, token_id: str) -> None:
    assert api.client.simulate_delete(tokens_path("admin", token_id)).status_code == 404
