"""The web app in a real browser: one `jobkeeper serve` for the module, Debian's Chromium
driven by Playwright, a signed-in page per test that fails the test on any console error or
any request that leaves the server's origin."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Server

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("JOBKEEPER_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("JOBKEEPER_TEST_ARTIFACTS", "test-artifacts"))
ADMIN_TOKEN = "ui-admin-token-0123456789abcdef"
ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("ui")
    env = {"JOBKEEPER_ADMIN_TOKEN": ADMIN_TOKEN, "JOBKEEPER_CHECKPOINT_INTERVAL": "0.2",
           "JOBKEEPER_POLL_INTERVAL": "0.2"}  # fmt: skip
    started = Server(folder / "data", folder / "server.log", env)
    try:
        yield started.wait_healthy()
    finally:
        started.stop()


@pytest.fixture(scope="module")
def users(server: Server) -> dict[str, str]:
    """Tokens by name: the admin and a plain user, bob."""
    response = server.post("/users", {"name": "bob", "surname": "Builder"}, expect=201)
    return {"admin": ADMIN_TOKEN, "bob": response.json()["token"]["token"]}


class Watch:
    """What a page did that it must not: console errors, uncaught errors, foreign requests."""

    def __init__(self, origin: str) -> None:
        self.origin, self.problems = origin, []  # type: list[str]
        self.error_pages: set[str] = set()  # and answers a test provokes on purpose

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("request", self._request)
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        # A page that answers 4xx with its message as HTML (a wrong token, a form with errors)
        # makes Chromium log "Failed to load resource": that is the page, not a failure of it.
        html = response.headers.get("content-type", "").startswith("text/html")
        if response.request.resource_type == "document" and response.status >= 400 and html:
            self.error_pages.add(response.url)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and (
            message.location.get("url") in self.error_pages
        ):
            return
        self.problems.append(f"console: {message.text} ({message.location.get('url')})")

    def _request(self, request: Any) -> None:
        url = request.url
        if not (url.startswith((self.origin + "/", "data:")) or url == self.origin):
            self.problems.append(f"request left the origin: {url}")


@pytest.fixture
def watch(server: Server) -> Watch:
    return Watch(server.url)


@pytest.fixture
def open_page(
    browser: Any, server: Server, users: dict[str, str], watch: Watch
) -> Iterator[Callable[..., Any]]:
    """Opens a page signed in as `user`, or with `token` (through the sign-in form), in a
    context of its own."""
    contexts: list[Any] = []

    def open_as(user: str = "admin", *, width: int = 1280, height: int = 860,
                dark: bool = False, token: str | None = None) -> Any:  # fmt: skip
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme="dark" if dark else "light",
            base_url=server.url,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        watch.attach(page)
        sign_in(page, users[user] if token is None else token)
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not watch.problems, "\n".join(watch.problems)


def sign_in(page: Any, token: str) -> None:
    page.goto("/")
    page.get_by_label("Your token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/jobs/running")


def shot(page: Any, name: str) -> Path:
    """A screenshot into the artifacts folder (not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
