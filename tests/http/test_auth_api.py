"""Every route but the public ones needs a valid bearer token: 401 without one, whatever it is.

The HTTP layer alone, on the fake application (tests/http/fake.py), which records every call:
a request without a valid token reaches nothing but the token check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import falcon.inspect
import falcon.testing
import pytest

from jobkeeper.http.meta.docs import ASSETS
from jobkeeper.http.ui.routes import UI_ROUTES
from tests.http.conftest import LATER, PUBLIC_ROUTES, SHORT, bearer, client_of
from tests.http.fake import FakeService

Client = falcon.testing.TestClient

PARAMETER = re.compile(r"{(\w+)(?::[^}]*)?}")
SAMPLES = {
    "job_id": "1",
    "name": "admin",
    "user_name": "admin",
    "token_id": "0badc0de",
    "asset": next(iter(ASSETS)),
}
"""A value for each path parameter; a route with a new parameter fails here until given one."""
PAGES = {PARAMETER.sub(r"{\1}", page.template): page.open for page in UI_ROUTES}
"""The web app's pages: they know their viewer by the session cookie alone (bearer tokens
mean nothing to them); `open` ones (sign-in, the static files) need none."""


def every_route(app: Any, samples: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """(template without converters, a concrete path, method) for every responder the app
    has, Falcon's own (OPTIONS, and the 405 of methods a resource lacks) included."""
    for route in falcon.inspect.inspect_routes(app):
        template = PARAMETER.sub(r"{\1}", route.path)
        path = PARAMETER.sub(lambda m: samples[m[1]], route.path)
        for method in route.methods:
            if method.method != "WEBSOCKET":
                yield template, path, method.method


def wrong_tokens(admin_token: str) -> dict[str, dict[str, str]]:
    """Authorization headers that must not let anyone in."""
    secret = admin_token[-1]
    return {
        "wrong secret": bearer(admin_token[:-1] + ("0" if secret != "0" else "1")),
        "shaped, unknown id": bearer("jk_admin_deadbeef_" + "0" * 64),
        "unknown user": bearer("jk_nobody_deadbeef_" + "0" * 64),
        "not a token": bearer("let-me-in"),
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "token without scheme": {"Authorization": admin_token},
        "non-ascii": {"Authorization": "Bearer jk_admin_é_x"},
        "too long": bearer("x" * 5000),
    }


def assert_unauthorized(result: falcon.testing.Result, where: object) -> None:
    assert result.status_code == 401, (where, result.status_code)
    assert result.headers["WWW-Authenticate"].startswith("Bearer"), where
    if result.content:  # HEAD answers no body
        assert set(result.json) == {"title", "description"}, where
        assert "Authorization: Bearer <token>" in result.json["description"], where


@pytest.mark.filterwarnings("ignore:Unknown REQUEST_METHOD")  # WebDAV's, which Falcon routes too
def test_every_route_but_the_public_ones_answers_401_without_a_valid_token(
    fake: FakeService, fake_client: Client
) -> None:
    admin_token = fake.tokens["admin"]
    anonymous = client_of(fake_client.app)
    # Real targets, so that an unprotected route would show by doing something.
    job = fake_client.simulate_post("/api/v1/jobs", json={**SHORT, "not_before": LATER}).json
    token_id = admin_token.split("_")[-2]
    samples = {**SAMPLES, "job_id": str(job["id"]), "token_id": token_id}
    fake.app.calls.clear()
    public, protected = set(), set()
    for template, path, method in every_route(fake_client.app, samples):
        if template in PAGES:
            for headers in [{}, *wrong_tokens(admin_token).values()]:
                result = anonymous.simulate_request(method, path, headers=headers)
                if PAGES[template]:
                    assert result.status_code < 500, (method, path)
                else:  # a signed-out visitor sees only the sign-in page
                    assert result.status_code == 303, (method, path, result.status_code)
                    assert result.headers["Location"] == "/sign-in", (method, path)
            continue
        if template in PUBLIC_ROUTES:
            public.add(template)
            result = anonymous.simulate_request(method, path)
            assert result.status_code != 401, (method, path)
            continue
        protected.add(template)
        assert_unauthorized(anonymous.simulate_request(method, path), (method, path))
        for name, headers in wrong_tokens(admin_token).items():
            result = anonymous.simulate_request(method, path, headers=headers)
            assert_unauthorized(result, (method, path, name))
    assert public == PUBLIC_ROUTES  # every public route exists, and no other is public
    assert len(protected) >= 30
    # Nothing but the token check was reached: no command, no read, nothing recorded.
    assert {call.method for call in fake.app.calls} == {"authenticate"}
    assert fake.app.changes() == [] and len(fake.app.jobs[job["id"]]) == 1
    assert list(fake.app.users["admin"].tokens) == [token_id]


def test_the_public_routes_answer_without_a_token(fake: FakeService, fake_client: Client) -> None:
    anonymous = client_of(fake_client.app)
    for path in (
        "/healthz",
        "/openapi.json",
        "/docs",
        "/docs/",
        *(f"/docs/assets/{a}" for a in ASSETS),
    ):
        assert anonymous.simulate_get(path).status_code == 200, path
    assert anonymous.simulate_get("/healthz", headers=bearer("wrong")).status_code == 200
    assert fake.app.calls == []  # public routes ask the application nothing, not even who calls


def test_a_missing_token_and_a_wrong_one_say_what_to_send(fake_client: Client) -> None:
    anonymous = client_of(fake_client.app)
    missing = anonymous.simulate_get("/api/v1/jobs")
    assert missing.json["title"] == "Unauthorized"
    assert missing.json["description"].startswith("no token")
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="jobkeeper"'
    wrong = anonymous.simulate_get("/api/v1/jobs", headers=bearer("jk_admin_x_y"))
    assert wrong.json["description"].startswith("the bearer token is wrong or revoked")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    basic = anonymous.simulate_get("/api/v1/jobs", headers={"Authorization": "Basic eDp5"})
    assert basic.json["description"].startswith("the Authorization header is not `Bearer")


def test_the_scheme_is_case_insensitive_and_the_token_exact(
    fake: FakeService, fake_client: Client
) -> None:
    admin_token = fake.tokens["admin"]
    anonymous = client_of(fake_client.app)
    for header in (f"Bearer {admin_token}", f"bearer {admin_token}", f"BEARER  {admin_token} "):
        result = anonymous.simulate_get("/api/v1/kinds", headers={"Authorization": header})
        assert result.status_code == 200, header
    upper = anonymous.simulate_get("/api/v1/kinds", headers=bearer(admin_token.upper()))
    assert upper.status_code == 401


def test_unknown_paths_answer_404_with_or_without_a_token(fake_client: Client) -> None:
    """Nothing is there to protect, and the public document lists every path anyway."""
    anonymous = client_of(fake_client.app)
    for client in (anonymous, fake_client):
        for path in ("/api/v1/nothing", "/api/v1/jobs/0", "/api/v2/jobs", "/admin"):
            result = client.simulate_get(path)
            assert result.status_code == 404, path
            assert result.json["title"] == "Not found"


def test_a_user_is_their_token_and_a_revoked_token_stops_working(
    fake: FakeService, fake_client: Client
) -> None:
    name = fake.add_user()
    me = client_of(fake_client.app, fake.tokens[name])
    assert me.simulate_get(f"/api/v1/users/{name}").status_code == 200
    token_id = fake.tokens[name].split("_")[-2]
    assert fake_client.simulate_delete(f"/api/v1/users/{name}/tokens/{token_id}").status_code == 204
    revoked = {"name": name, "token_id": token_id, "by": "admin"}
    assert [call.args for call in fake.app.changes()] == [revoked]
    assert_unauthorized(me.simulate_get(f"/api/v1/users/{name}"), "revoked")


@pytest.mark.parametrize(
    "header",
    ["Bearer \x00", "Bearer jk_\x00_x_y", "Bearer jk_" + "a" * 64 + "_x_y", "Bearer jk__x_y",
     "Bearer jk_a/../b_x_y", "Bearer jk_admin__", "Bearer jk_admin_configured_x", "Bearer ,,,"],
)  # fmt: skip
def test_odd_authorization_headers_answer_401_never_500(fake_client: Client, header: str) -> None:
    anonymous = client_of(fake_client.app)
    result = anonymous.simulate_get("/api/v1/jobs", headers={"Authorization": header})
    assert_unauthorized(result, header)
