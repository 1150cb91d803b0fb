"""Web sessions and the CSRF guard, over a real runtime (embedded and scaled)."""

from __future__ import annotations

import re
from typing import Any

import falcon.testing
import pytest

from jobkeeper.http.app import create_app
from jobkeeper.http.sessions import COOKIE, Sessions
from jobkeeper.settings import Settings, SettingsError
from tests.http.conftest import MAX_BODY, Api, recorded_since

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ORIGIN = "http://falconframework.org"  # the TestClient's host


class Browser:
    """A cookie-keeping client of the app, like a browser on the page's origin."""

    def __init__(self, app: Any) -> None:
        self.client = falcon.testing.TestClient(app)
        self.cookie = ""

    def request(self, method: str, path: str, **kwargs: Any) -> falcon.testing.Result:
        headers = {"Accept": "text/html", **kwargs.pop("headers", {})}
        if self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        result = self.client.simulate_request(method, path, headers=headers, **kwargs)
        if COOKIE in result.cookies:
            self.cookie = result.cookies[COOKIE].value
        return result

    def sign_in(self, token: str) -> falcon.testing.Result:
        return self.request("POST", "/sign-in", body=f"token={token}",
                            headers={**FORM, "Origin": ORIGIN})  # fmt: skip

    def csrf(self) -> str:
        page = self.request("GET", "/jobs").text
        match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert match, page[:500]
        return match[1]


@pytest.fixture(scope="module")
def app(api: Api) -> Any:
    return create_app(api.runtime, max_body=MAX_BODY)


@pytest.fixture
def browser(app: Any, api: Api) -> tuple[Browser, str]:
    """A browser signed in as a new user of its own."""
    name = api.new_user()
    browser = Browser(app)
    result = browser.sign_in(api.tokens[name])
    assert result.status_code == 303 and result.headers["Location"] == "/jobs/running"
    return browser, name


def test_sign_in_sets_an_httponly_strict_cookie_secure_only_over_https(app: Any, api: Api) -> None:
    browser = Browser(app)
    result = browser.sign_in(api.tokens["admin"])
    cookie = result.cookies[COOKIE]
    assert cookie.http_only and cookie.same_site == "Strict" and not cookie.secure
    assert cookie.max_age == 12 * 3600
    secure = falcon.testing.TestClient(app).simulate_post(
        "/sign-in", body=f"token={api.tokens['admin']}", protocol="https",
        headers={**FORM, "Origin": "https://falconframework.org"},
    )  # fmt: skip
    assert secure.cookies[COOKIE].secure


def test_a_wrong_token_opens_no_session_and_says_why(app: Any) -> None:
    browser = Browser(app)
    result = browser.sign_in("jk_admin_nope_wrong")
    assert result.status_code == 401 and COOKIE not in result.cookies
    assert "wrong or revoked" in result.text and result.headers["Content-Type"].startswith("text/html")
    assert browser.request("GET", "/jobs").status_code == 303


def test_a_sign_in_from_another_origin_is_refused(app: Any, api: Api) -> None:
    result = falcon.testing.TestClient(app).simulate_post(
        "/sign-in", body=f"token={api.tokens['admin']}", headers={**FORM, "Origin": "http://evil.example"}
    )
    assert result.status_code == 403 and COOKIE not in result.cookies


def test_the_session_reads_the_api_and_the_bearer_api_is_unchanged(
    browser: tuple[Browser, str], api: Api, app: Any
) -> None:
    page, name = browser
    assert page.request("GET", "/api/v1/jobs").status_code == 200
    anonymous = falcon.testing.TestClient(app)
    assert anonymous.simulate_get("/api/v1/jobs").status_code == 401
    token = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {api.tokens[name]}"})
    assert token.simulate_post("/api/v1/jobs", json=api.SHORT).status_code == 201  # no CSRF needed


def test_a_forged_write_is_refused_and_records_nothing(
    browser: tuple[Browser, str], api: Api
) -> None:
    page, name = browser
    csrf = page.csrf()
    job = falcon.testing.TestClient(page.client.app, headers={"Authorization": f"Bearer {api.tokens[name]}"}).simulate_post("/api/v1/jobs", json=api.LONG).json
    position = api.runtime.app.position()
    forged = [
        ("POST", f"/api/v1/jobs/{job['id']}/stop", {}),  # no token, no origin
        ("POST", f"/api/v1/jobs/{job['id']}/stop", {"Origin": ORIGIN}),  # no token
        ("POST", f"/api/v1/jobs/{job['id']}/stop", {"Origin": "http://evil.example", "X-CSRF-Token": csrf}),
        ("POST", f"/api/v1/jobs/{job['id']}/stop", {"Origin": ORIGIN, "X-CSRF-Token": csrf[:-1] + "x"}),
        ("POST", "/api/v1/jobs", {"Origin": ORIGIN, "Content-Type": "application/json"}),
        ("POST", f"/jobs/{job['id']}/command", {**FORM, "Origin": ORIGIN}),
        ("POST", "/submit", {**FORM, "Referer": "http://evil.example/page"}),
        ("POST", "/users", {**FORM}),
        ("POST", f"/users/{name}/tokens", {**FORM, "Origin": ORIGIN}),
        ("POST", "/sign-out", {**FORM, "Origin": "http://evil.example"}),
    ]
    bodies = {"/api/v1/jobs": '{"kind": "sleep", "params": {"seconds": 1}}',
              f"/jobs/{job['id']}/command": "command=stop&csrf=wrong",
              "/submit": f"kind=sleep&p.seconds=1&csrf={csrf}", "/users": f"name=mallory&csrf={csrf}",
              f"/users/{name}/tokens": "label=x"}  # fmt: skip
    for method, path, headers in forged:
        result = page.request(method, path, headers=headers, body=bodies.get(path, ""))
        assert result.status_code == 403, (path, headers, result.status_code)
        assert "cross-site" in result.text
    assert recorded_since(api.runtime, position, by=name) == []
    assert api.job(job["id"])["status"] != "stopped"
    # the same request from the page goes through
    result = page.request("POST", f"/api/v1/jobs/{job['id']}/stop",
                          headers={"Origin": ORIGIN, "X-CSRF-Token": csrf})  # fmt: skip
    assert result.status_code == 200
    assert {"StopRequested", "Stopped"} & set(recorded_since(api.runtime, position, by=name))
    page.request("POST", f"/api/v1/jobs/{job['id']}/cancel", headers={"Origin": ORIGIN, "X-CSRF-Token": csrf})


def test_a_revoked_token_ends_its_sessions_at_the_next_request(
    browser: tuple[Browser, str], api: Api, app: Any
) -> None:
    page, name = browser
    other = Browser(create_app(api.runtime, max_body=MAX_BODY))  # another app on the same store
    other.cookie = page.cookie
    assert other.request("GET", "/jobs").status_code == 200  # a session needs no shared memory
    token_id = api.tokens[name].split("_")[2]
    revoked = api.client.simulate_delete(f"/api/v1/users/{name}/tokens/{token_id}")
    assert revoked.status_code == 204
    for client in (page, other):
        assert client.request("GET", "/jobs").headers["Location"] == "/sign-in"
        assert client.request("GET", "/api/v1/jobs").status_code == 401


def test_sign_out_ends_the_session_in_the_browser(browser: tuple[Browser, str]) -> None:
    page, _ = browser
    csrf = page.csrf()
    result = page.request("POST", "/sign-out", body=f"csrf={csrf}", headers={**FORM, "Origin": ORIGIN})
    assert result.status_code == 303 and result.cookies[COOKIE].value == ""
    assert result.cookies[COOKIE].same_site == "Strict"
    page.cookie = ""
    assert page.request("GET", "/jobs").headers["Location"] == "/sign-in"


def test_sessions_expire_and_a_tampered_cookie_is_no_session() -> None:
    now = [1000.0]
    digests = {("ada", "t1"): "d" * 64}
    sessions = Sessions(lambda user, token: digests.get((user, token)), lifetime=60,
                        clock=lambda: now[0])  # fmt: skip
    value = sessions.open("ada", "t1", "d" * 64)
    session = sessions.verify(value)
    assert session is not None and session.user == "ada" and len(session.csrf) == 32
    payload, mac = value.split(".")
    assert sessions.verify(value[:-2] + ("AA" if value[-2:] != "AA" else "BB")) is None
    assert sessions.verify(f"{payload}x.{mac}") is None
    assert sessions.verify("garbage") is None and sessions.verify("a.b.c") is None
    assert Sessions(lambda u, t: "e" * 64, clock=lambda: now[0]).verify(value) is None  # another digest
    assert Sessions(digests.get, secret="other", clock=lambda: now[0]).verify(value) is None  # type: ignore[arg-type]
    now[0] += 59
    assert sessions.verify(value) is not None
    now[0] += 2
    assert sessions.verify(value) is None


def test_the_session_lifetime_is_a_setting_and_a_flag() -> None:
    assert Settings.from_env({}).session_hours == 12
    assert Settings.from_env({"JOBKEEPER_SESSION_HOURS": "0.5"}).session_hours == 0.5
    assert Settings.from_env({"JOBKEEPER_SESSION_HOURS": "8"}, session_hours=2).session_hours == 2
    with pytest.raises(SettingsError, match="JOBKEEPER_SESSION_HOURS must be more than 0 hours"):
        Settings.from_env({"JOBKEEPER_SESSION_HOURS": "0"})
    from jobkeeper.cli.processes import _parser

    assert _parser().parse_args(["serve", "--session-hours", "3"]).session_hours == 3
    assert _parser().parse_args(["api", "--session-hours", "1.5"]).session_hours == 1.5
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--session-hours", "never"])


def test_a_short_session_expires(api: Api) -> None:
    now = [5000.0]
    app = create_app(api.runtime, max_body=MAX_BODY, session_seconds=30)
    browser = Browser(app)
    browser.sign_in(api.tokens["admin"])
    for middleware in app._unprepared_middleware:  # the guard's sessions, on a clock of ours
        sessions = getattr(middleware, "sessions", None)
        if sessions is not None:
            sessions.clock = lambda: now[0]
    browser.sign_in(api.tokens["admin"])
    assert browser.request("GET", "/jobs").status_code == 200
    now[0] += 31
    assert browser.request("GET", "/jobs").headers["Location"] == "/sign-in"


BAD_PAGES = [
    "/jobs?status=bogus", "/jobs?cursor=%00%ff", "/jobs/running?q=" + "x" * 500, "/jobs?id=abc",
    "/jobs?id=99999999", "/jobs/999999", "/jobs/1?version=abc", "/jobs/1?version=999999",
    "/jobs/999999/log.txt", "/submit?from=abc", "/submit?from=999999", "/submit?kind=nope",
    "/users/nobody", "/users/%00", "/nothing/here", "/ui/nothing.js",
]  # fmt: skip


@pytest.mark.parametrize("path", BAD_PAGES)
def test_bad_page_input_answers_a_readable_page_never_json_or_500(
    browser: tuple[Browser, str], api: Api, path: str
) -> None:
    page, _ = browser
    if "/jobs/1" in path:
        path = path.replace("/jobs/1", f"/jobs/{api.submit(**api.SHORT)['id']}")
    result = page.request("GET", path)
    assert 400 <= result.status_code < 500, (path, result.status_code)
    assert result.headers["Content-Type"].startswith("text/html"), path
    assert "<h1" in result.text and '{"title"' not in result.text


@pytest.mark.parametrize("body", [
    "kind=sleep&p.seconds=nan", "kind=sleep&p.seconds=1e999", "kind=sleep&p.seconds=abc",
    "kind=sleep&p.seconds=", "kind=nope", "kind=sleep&p.seconds=1&p.extra=1&name=" + "n" * 300,
    "kind=fail&p.after_steps=1.5",
])  # fmt: skip
def test_bad_submit_forms_answer_the_form_with_the_error_beside_the_field(
    browser: tuple[Browser, str], api: Api, body: str
) -> None:
    page, name = browser
    csrf = page.csrf()
    position = api.runtime.app.position()
    result = page.request("POST", "/submit", body=f"{body}&csrf={csrf}", headers={**FORM, "Origin": ORIGIN})
    assert result.status_code == 400, (body, result.status_code)
    assert "field-error" in result.text or 'role="alert"' in result.text
    assert recorded_since(api.runtime, position, by=name) == []


def test_bulk_forms_with_bad_input_answer_a_page(browser: tuple[Browser, str]) -> None:
    page, _ = browser
    csrf = page.csrf()
    for body in ("action=explode", "action=stop", "action=stop&job=abc", "action=stop&all=1&status=bogus"):
        result = page.request("POST", "/jobs/bulk", body=f"{body}&csrf={csrf}", headers={**FORM, "Origin": ORIGIN})
        assert result.status_code == 400, body
        assert result.headers["Content-Type"].startswith("text/html")


def test_a_form_too_large_answers_413_as_a_page(browser: tuple[Browser, str]) -> None:
    page, _ = browser
    csrf = page.csrf()
    body = f"csrf={csrf}&kind=sleep&name=" + "n" * 70_000
    result = page.request("POST", "/submit", body=body, headers={**FORM, "Origin": ORIGIN})
    assert result.status_code == 413 and "Form too large" in result.text
    assert result.headers["Content-Type"].startswith("text/html")
