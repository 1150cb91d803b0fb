"""The web app in Debian's Chromium against a real `jobkeeper serve`.

Every test's page fails it on a console error, an uncaught error, or a request to another
origin (conftest's `watch`). "Without a reload" is checked with a marker set on `window`,
which a reload would drop.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Server, wait_for
from tests.ui.conftest import ARTIFACTS, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
XSS = "<img src=x onerror=alert(1)>"


def mark(page: Any) -> None:
    page.evaluate("window.__noReload = 1")


def not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("window.__noReload === 1"))


def submit_api(server: Server, kind: str, token: str | None = None, name: str | None = None,
               **params: Any) -> int:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = {"kind": kind, "params": params}
    if name is not None:
        body["name"] = name
    response = server.http.post(f"{server.url}/api/v1/jobs", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_a_signed_out_visitor_sees_only_the_sign_in_page_and_signing_out_ends_the_session(
    browser: Any, server: Server, users: dict[str, str], watch: Any
) -> None:
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    watch.attach(page)
    for path in ("/", "/jobs", "/jobs/running", "/users", "/submit", "/jobs/1"):
        page.goto(path)
        assert page.url.endswith("/sign-in"), path
        assert page.get_by_role("heading", name="Sign in").is_visible()
    page.get_by_label("Your token").fill("jk_admin_nope_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That token is wrong or revoked")
    shot(page, "sign-in-error")
    page.get_by_label("Your token").fill(users["admin"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/jobs/running")
    cookie = next(c for c in context.cookies() if c["name"] == "jobkeeper_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in?signed_out=1")
    assert page.get_by_text("You are signed out.").is_visible()
    page.goto("/jobs")
    assert page.url.endswith("/sign-in")
    assert not [c for c in context.cookies() if c["name"] == "jobkeeper_session"]
    context.close()
    assert not watch.problems, watch.problems


def test_submit_through_the_form_with_a_validation_error_beside_its_field(
    open_page: Callable[..., Any], server: Server
) -> None:
    page = open_page()
    page.get_by_role("link", name="Submit").click()
    page.get_by_label("Kind").select_option("sleep")
    page.get_by_role("button", name="Choose").click()
    seconds = page.get_by_label("seconds")
    assert page.get_by_label("step").input_value() == "1.0"  # the schema's default
    assert "how long the job runs" in page.locator("#d-seconds").inner_text()
    seconds.fill("-5")
    page.get_by_label("Name").fill("form job")
    page.get_by_role("button", name="Submit", exact=True).click()
    error = page.locator("#e-seconds")
    assert "greater than 0" in error.inner_text()
    assert seconds.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Name").input_value() == "form job"  # what was typed is kept
    shot(page, "submit-validation")
    page.get_by_label("seconds").fill("0.5")
    page.get_by_label("step").fill("0.1")
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    assert server.job(job_id)["name"] == "form job"
    page.get_by_role("link", name="Submit again like this").click()
    assert page.get_by_label("seconds").input_value() == "0.5"
    assert page.get_by_label("Name").input_value() == "form job"


def test_a_running_jobs_progress_moves_on_screen_without_a_reload(
    open_page: Callable[..., Any], server: Server
) -> None:
    job_id = server.submit("sleep", seconds=6, step=0.3)
    page = open_page()
    page.goto(f"/jobs/{job_id}")
    mark(page)
    bar = page.locator(".summary progress")
    first = float(bar.get_attribute("value") or 0)
    wait_for(lambda: float(bar.get_attribute("value") or 0) > first + 0.1, 20, "progress moves")
    # and in the running list, row by row
    page.goto("/jobs/running")
    mark(page)
    row_bar = page.locator(f'tr[data-id="{job_id}"] progress')
    seen = float(row_bar.get_attribute("value") or 0)
    wait_for(lambda: float(row_bar.get_attribute("value") or 0) > seen, 20, "row progress moves")
    fresh = submit_api(server, "sleep", name="arrives live", seconds=0.5, step=0.1)
    row = page.locator(f'tr[data-id="{fresh}"]')
    wait_for(lambda: row.count() == 1, 20, "a new job's row appears")
    assert page.locator("#jobs tbody tr").first.get_attribute("data-id") == str(fresh)
    assert row.locator(".name").inner_text() == "arrives live"
    wait_for(lambda: row.locator(".status").inner_text() == "succeeded", 20, "its row follows it")
    assert not_reloaded(page)
    shot(page, "jobs-running")


def test_stop_resume_cancel_and_restart_from_the_job_page(
    open_page: Callable[..., Any], server: Server
) -> None:
    job_id = server.submit("sleep", seconds=60, step=0.2)
    server.wait_status(job_id, "running")
    page = open_page()
    page.goto(f"/jobs/{job_id}")
    mark(page)
    status = page.locator(".summary .status")

    def press(name: str) -> None:
        page.locator(f'form[data-command="{name}"] button').click()

    press("stop")
    wait_for(lambda: status.inner_text() == "stopped", 20, "stopped on screen")
    assert page.locator('form[data-command="resume"]').is_visible()
    assert page.locator('form[data-command="stop"]').is_hidden()
    press("resume")
    wait_for(lambda: status.inner_text() == "running", 20, "running again on screen")
    page.once("dialog", lambda dialog: dialog.dismiss())  # changed their mind
    press("cancel")
    assert server.job(job_id)["status"] == "running"
    page.once("dialog", lambda dialog: dialog.accept())
    press("cancel")
    wait_for(lambda: status.inner_text() == "cancelled", 20, "cancelled on screen")
    press("restart")
    wait_for(lambda: status.inner_text() in ("queued", "running"), 20, "restarted on screen")
    assert page.locator("#job-attempt").inner_text() == "2"
    wait_for(lambda: page.locator("#timeline li").count() >= 8, 20, "timeline grows")
    assert not_reloaded(page)
    types = [e["type"] for e in server.history(job_id)]
    for expected in ("StopRequested", "Stopped", "Resumed", "CancelRequested", "Restarted"):
        assert any(expected in t for t in types), (expected, types)
    shot(page, "job-page")
    server.post(f"/jobs/{job_id}/cancel")


def test_the_log_starts_at_the_end_follows_and_pauses_when_scrolled_up(
    open_page: Callable[..., Any], server: Server
) -> None:
    job_id = server.submit("fail", after_steps=400, step_seconds=0.1)
    wait_for(lambda: server.get(f"/jobs/{job_id}/logs?limit=1000")["items"][-1:] and
             len(server.get(f"/jobs/{job_id}/logs?limit=1000")["items"]) > 60, 30, "lines")  # fmt: skip
    page = open_page(height=700)
    page.goto(f"/jobs/{job_id}")
    mark(page)
    log = page.locator("#log")

    def at_end() -> bool:
        return bool(log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight < 30"))

    assert at_end()  # starts at the end
    count = log.locator("li").count()
    wait_for(lambda: log.locator("li").count() > count + 3, 20, "new lines arrive")
    assert at_end()  # and follows them
    last = log.locator("li").last.inner_text()
    assert re.search(r"step \d+ of 400", last)
    log.evaluate("l => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); }")
    assert "Paused" in page.locator("#follow-state").inner_text()
    count = log.locator("li").count()
    wait_for(lambda: log.locator("li").count() > count + 3, 20, "lines still arrive")
    assert log.evaluate("l => l.scrollTop") == 0  # the reader stays where they are
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the whole log").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0].endswith("step 1 of 400") and len(text.splitlines()) > 60
    assert not_reloaded(page)
    server.post(f"/jobs/{job_id}/cancel")


def test_the_history_and_time_travel(open_page: Callable[..., Any], server: Server) -> None:
    job_id = server.submit("sleep", seconds=0.3, step=0.1)
    server.wait_status(job_id, "succeeded")
    page = open_page()
    page.goto(f"/jobs/{job_id}")
    entries = page.locator("#timeline li")
    history = server.history(job_id)
    assert entries.count() == len(history)  # newest first
    assert entries.first.locator(".ev-type").inner_text() == f"{len(history)}. Succeeded"
    assert entries.last.locator(".ev-type").inner_text() == "1. Submitted"
    assert "by admin" in entries.last.inner_text()
    entries.last.locator("summary").click()
    assert "sleep" in entries.last.locator("dl").inner_text()
    page.get_by_role("link", name="1. Submitted").click()
    page.wait_for_url(f"**/jobs/{job_id}?version=1")
    assert "as it was after event 1 of" in page.locator(".travel").inner_text()
    assert page.locator(".summary .status").inner_text() == "queued"
    assert page.locator("#job-finished").inner_text() == "—"
    assert page.locator("#timeline li[aria-current]").get_attribute("data-version") == "1"
    shot(page, "time-travel")
    page.get_by_role("link", name="See it now").click()
    page.wait_for_url(f"**/jobs/{job_id}")
    assert page.locator(".summary .status").inner_text() == "succeeded"
    with page.expect_download() as ndjson:
        page.locator("#history-ndjson").click()
    lines = [json.loads(line) for line in Path(ndjson.value.path()).read_text().splitlines()]
    assert [e["version"] for e in lines] == list(range(1, len(history) + 1))
    assert all(len(e["hash"]) == 64 for e in lines)  # each event's SHA-256, for audit
    with page.expect_download() as csv_file:
        page.locator("#history-csv").click()
    rows = list(csv.DictReader(Path(csv_file.value.path()).read_text().splitlines()))
    assert [r["hash"] for r in rows] == [e["hash"] for e in lines]


def test_a_long_history_comes_in_pages_and_time_travel_opens_the_page_of_its_event(
    open_page: Callable[..., Any], server: Server
) -> None:
    response = server.post("/jobs", {"kind": "sleep", "params": {"seconds": 1},
                                     "not_before": "2999-01-01T00:00:00Z"}, expect=201)  # fmt: skip
    job_id = response.json()["id"]
    for _ in range(40):  # queued: each stop and resume is one event
        server.post(f"/jobs/{job_id}/stop")
        server.post(f"/jobs/{job_id}/resume")
    total = len(server.history(job_id))
    assert total == 81
    page = open_page()
    page.goto(f"/jobs/{job_id}")
    versions = page.locator("#timeline li").evaluate_all("items => items.map(i => +i.dataset.version)")
    assert versions == list(range(total, total - 50, -1))
    page.locator("#history-older").click()
    page.wait_for_url(re.compile(r".*before=\d+.*"))
    versions = page.locator("#timeline li").evaluate_all("items => items.map(i => +i.dataset.version)")
    assert versions == list(range(total - 50, 0, -1))
    assert page.locator("#history-older").count() == 0
    page.get_by_role("link", name="2. Stopped", exact=True).click()
    page.wait_for_url(re.compile(r".*version=2$"))
    assert page.locator(".summary .status").inner_text() == "stopped"
    assert page.locator("#timeline li[aria-current]").get_attribute("data-version") == "2"
    page.get_by_role("link", name="Newest events").click()
    page.wait_for_url(re.compile(rf".*/jobs/{job_id}#history-title$"))
    assert page.locator("#timeline li").first.get_attribute("data-version") == str(total)
    server.post(f"/jobs/{job_id}/cancel")


def test_filters_survive_a_reload_and_a_job_is_found_by_its_id(
    open_page: Callable[..., Any], server: Server
) -> None:
    wanted = submit_api(server, "sleep", name="needle-filter", seconds=0.1, step=0.1)
    other = submit_api(server, "fail", name="needle-other", after_steps=0)
    server.wait_status(wanted, "succeeded")
    server.wait_status(other, "failed")
    page = open_page()
    page.goto("/jobs")
    page.get_by_label("succeeded").check()
    page.get_by_label("failed").check()
    page.get_by_label("Kind").select_option("sleep")
    page.get_by_label("Name contains").fill("NEEDLE")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*q=NEEDLE.*"))
    for url in (page.url, None):
        if url is None:
            page.reload()
        ids = page.locator("#jobs tbody tr").evaluate_all("rows => rows.map(r => +r.dataset.id)")
        assert ids == [wanted]
        assert page.get_by_label("succeeded").is_checked() and page.get_by_label("failed").is_checked()
        assert page.get_by_label("Name contains").input_value() == "NEEDLE"
        assert page.get_by_label("Kind").input_value() == "sleep"
    shot(page, "jobs-filtered")
    page.get_by_role("link", name="Finished").click()
    page.wait_for_url(re.compile(r".*/jobs/finished\?.*"))
    assert "q=NEEDLE" in page.url and "kind=sleep" in page.url  # tabs keep the filters
    page.get_by_label("Job id").fill(str(other))
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(f"**/jobs/{other}")
    page.goto("/jobs?id=999999")
    assert page.get_by_role("heading", name="Job not found").is_visible()


def test_a_bulk_cancel_reports_each_job(
    open_page: Callable[..., Any], server: Server, users: dict[str, str]
) -> None:
    mine = [submit_api(server, "sleep", name="bulk-target", seconds=120, step=0.5) for _ in range(3)]
    done = submit_api(server, "sleep", name="bulk-target", seconds=0.1, step=0.1)
    server.wait_status(done, "succeeded")
    page = open_page()
    page.goto("/jobs?q=bulk-target")
    for job_id in [*mine[:2], done]:
        page.get_by_label(f"Tick job {job_id}", exact=True).check()
    page.get_by_label("Action").select_option("cancel")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/jobs/bulk")
    outcome = {int(r.get_attribute("data-id")): r.locator(".outcome").inner_text()
               for r in page.locator("table.results tbody tr").all()}  # fmt: skip
    assert outcome == {mine[0]: "done", mine[1]: "done", done: "not allowed"}
    assert page.locator("#bulk-summary").inner_text() == "2 done, 1 not allowed"
    shot(page, "bulk-result")
    for job_id in mine[:2]:
        server.wait_status(job_id, "cancelled")
    assert server.job(mine[2])["status"] != "cancelled"
    # "all that match this filter", by a user who owns none of them: forbidden for each
    bob = open_page("bob")
    bob.goto("/jobs/running?q=bulk-target")
    bob.get_by_label("all that match this filter").check()
    bob.get_by_label("Action").select_option("stop")
    bob.get_by_role("button", name="Apply").click()
    bob.wait_for_url("**/jobs/bulk")
    assert bob.locator(".outcome").all_inner_texts() == ["forbidden"]
    assert server.job(mine[2])["status"] == "running"
    server.post(f"/jobs/{mine[2]}/cancel")


def test_a_name_with_markup_shows_as_text(
    open_page: Callable[..., Any], server: Server
) -> None:
    job_id = submit_api(server, "sleep", name=XSS, seconds=0.1, step=0.1)
    page = open_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    for path in (f"/jobs/{job_id}", "/jobs", "/users/admin"):
        page.goto(path)
        assert page.get_by_text(XSS).first.is_visible(), path
        assert page.locator("img[src=x]").count() == 0
    headers = page.goto("/jobs").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_a_user_without_rights_sees_no_command_buttons(
    open_page: Callable[..., Any], server: Server, users: dict[str, str], watch: Any
) -> None:
    admins = server.submit("sleep", seconds=60, step=0.5)
    bobs = submit_api(server, "sleep", token=users["bob"], seconds=60, step=0.5)
    page = open_page("bob")
    page.goto(f"/jobs/{admins}")
    assert page.locator("form.command").count() == 0
    assert page.get_by_role("button", name="Stop").count() == 0
    shot(page, "job-page-no-rights")
    page.goto("/jobs/running")
    assert page.get_by_label(f"Tick job {admins}", exact=True).count() == 0
    assert page.get_by_label(f"Tick job {bobs}", exact=True).count() == 1
    page.goto(f"/jobs/{bobs}")
    assert page.locator('form[data-command="stop"] button').is_visible()
    # bob's page can still try: the API refuses and the page says so in words
    before = len(server.history(admins))
    watch.error_pages.add(f"{server.url}/api/v1/jobs/{admins}/stop")  # the 403 is the point
    answer = page.evaluate(
        """async (id) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(`/api/v1/jobs/${id}/stop`, {method: "POST", headers: {"X-CSRF-Token": csrf}});
            return r.status;
        }""",
        admins,
    )
    assert answer == 403
    # Nothing of the refused stop was recorded (the running job's own progress goes on).
    recorded = server.history(admins)[before:]
    assert not [e for e in recorded if e["type"] != "Progressed" or e["by"] != "system"]
    for job_id in (admins, bobs):
        server.post(f"/jobs/{job_id}/cancel")


def test_users_and_tokens(open_page: Callable[..., Any], server: Server) -> None:
    page = open_page()
    page.goto("/users")
    assert page.get_by_role("link", name="bob").is_visible()
    page.get_by_label("Name", exact=True).fill("carol")
    page.get_by_label("Surname").fill("<b>Shannon</b>")
    page.get_by_role("button", name="Create").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("jk_carol_")
    assert page.get_by_role("cell", name="<b>Shannon</b>").is_visible()
    page.get_by_label("Name", exact=True).fill("carol")
    page.get_by_role("button", name="Create").click()
    assert "carol" in page.get_by_role("alert").inner_text()
    shot(page, "users")
    carol = open_page(token=token)  # a context of its own: no page of another user's
    carol.goto("/users/carol")
    carol.get_by_label("Label").fill("laptop")
    carol.get_by_role("button", name="Issue a token").click()
    assert carol.locator("#new-token").inner_text().startswith("jk_carol_")
    assert carol.get_by_role("cell", name="laptop").is_visible()
    assert carol.get_by_role("heading", name="Create a user").count() == 0
    carol.goto("/users")
    assert carol.get_by_role("heading", name="Create a user").count() == 0
    shot(carol, "user-page")
    # revoking the token this session signed in with ends the session at once
    first = token.split("_")[2]
    carol.goto("/users/carol")
    carol.get_by_role("button", name=f"Revoke token {first}").click()
    carol.wait_for_url("**/sign-in")


@pytest.mark.parametrize(("width", "dark"), [(1280, False), (1280, True), (360, False), (360, True)])
def test_screenshots_of_the_main_pages(
    open_page: Callable[..., Any], server: Server, width: int, dark: bool
) -> None:
    job_id = submit_api(server, "fail", name="screenshot job", after_steps=200, step_seconds=0.2)
    server.wait_progress(job_id)
    page = open_page(width=width, height=800, dark=dark)
    suffix = f"{width}-{'dark' if dark else 'light'}"
    for name, path in (("jobs", "/jobs"), ("job", f"/jobs/{job_id}"), ("submit", "/submit?kind=primes"),
                       ("users", "/users"), ("user", "/users/admin")):  # fmt: skip
        page.goto(path)
        page.wait_for_load_state("networkidle") if name != "job" else page.wait_for_timeout(500)
        shot(page, f"{name}-{suffix}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow} px wider than {width}"
    if width == 1280 and not dark:  # the README's picture: the top of the jobs page
        page.set_viewport_size({"width": 1100, "height": 520})
        page.goto("/jobs")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "readme-jobs.png"))
    page.goto("/sign-out-nothing-here")
    assert page.get_by_role("heading", name="Not found").is_visible()
    server.post(f"/jobs/{job_id}/cancel")


def test_the_first_load_of_each_main_page_is_within_250_kb(
    browser: Any, open_page: Callable[..., Any], server: Server
) -> None:
    job_id = server.submit("sleep", seconds=0.2, step=0.1)
    server.wait_status(job_id, "succeeded")
    state = open_page().context.storage_state()
    for path in ("/sign-in", "/jobs", "/jobs/running", f"/jobs/{job_id}", "/submit?kind=sleep", "/users"):
        context = browser.new_context(base_url=server.url, storage_state=state)  # nothing cached
        page = context.new_page()
        page.goto(path, wait_until="load")
        sizes = page.evaluate("""() => [performance.getEntriesByType('navigation')[0],
            ...performance.getEntriesByType('resource')].map(e => e.transferSize)""")
        assert all(size > 0 for size in sizes), (path, sizes)  # every file came over the wire
        assert sum(sizes) <= 250 * 1024, (path, sum(sizes))
        context.close()


def test_every_action_is_reachable_by_keyboard(
    open_page: Callable[..., Any], server: Server, users: dict[str, str], browser: Any
) -> None:
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.goto("/sign-in")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(users["admin"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/jobs/running")
    job_id = server.submit("sleep", seconds=60, step=0.2)
    server.wait_status(job_id, "running")
    page.goto(f"/jobs/{job_id}")

    def focus(text: str) -> None:
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == text:
                return
        raise AssertionError(f"{text!r} cannot be reached with Tab")

    focus("Stop")
    page.keyboard.press("Enter")
    status = page.locator(".summary .status")
    wait_for(lambda: status.inner_text() == "stopped", 20, "stopped by keyboard")
    page.once("dialog", lambda dialog: dialog.accept())
    page.goto(f"/jobs/{job_id}")
    focus("Cancel")
    page.keyboard.press("Enter")
    wait_for(lambda: status.inner_text() == "cancelled", 20, "cancelled by keyboard")
    page.goto("/jobs")
    focus("Filter")
    page.goto("/submit")
    focus("Sign out")
    page.keyboard.press("Enter")
    page.wait_for_url("**/sign-in?signed_out=1")
    context.close()
