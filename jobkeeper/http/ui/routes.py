"""The web app's route table: its pages, their form posts and its static files.

Pages are not API routes: they are not in the OpenAPI document, they know their viewer by the
session cookie only, and a signed-out visitor is sent to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jobkeeper.http.port import Service
from jobkeeper.http.sessions import Sessions
from jobkeeper.http.ui import pages
from jobkeeper.http.ui.render import STATIC

JOB = "/jobs/{job_id:int(min=1, max=9007199254740991)}"
USER = "/users/{name:text}"


@dataclass(frozen=True)
class PageRoute:
    """A page's Falcon URI template and the factory of its resource; `open` pages need no
    session (sign-in, the static files)."""

    template: str
    resource: Callable[[Service, Sessions], object]
    open: bool = False


UI_ROUTES = [
    PageRoute("/", lambda s, _: pages.Home(), open=True),
    PageRoute("/sign-in", lambda s, sessions: pages.SignIn(s, sessions), open=True),
    PageRoute("/ui/{asset}", lambda s, _: pages.StaticFile(STATIC), open=True),
    PageRoute("/sign-out", lambda s, _: pages.SignOut()),
    PageRoute("/jobs", lambda s, _: pages.JobsPage(s, "all")),
    PageRoute("/jobs/running", lambda s, _: pages.JobsPage(s, "running")),
    PageRoute("/jobs/finished", lambda s, _: pages.JobsPage(s, "finished")),
    PageRoute("/jobs/bulk", lambda s, _: pages.BulkAction(s)),
    PageRoute(JOB, lambda s, _: pages.JobPage(s)),
    PageRoute(f"{JOB}/command", lambda s, _: pages.JobCommandForm(s)),
    PageRoute(f"{JOB}/log.txt", lambda s, _: pages.JobLogText(s)),
    PageRoute("/submit", lambda s, _: pages.SubmitPage(s)),
    PageRoute("/users", lambda s, _: pages.UsersPage(s)),
    PageRoute(USER, lambda s, _: pages.UserPage(s)),
    PageRoute(f"{USER}/tokens", lambda s, _: pages.TokenIssue(s)),
    PageRoute(f"{USER}/tokens/{{token_id:text}}/revoke", lambda s, _: pages.TokenRevoke(s)),
]
