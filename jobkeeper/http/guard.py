"""The guard in front of every protected route: who calls, within which budget, or 401.

Order, and why: the token is checked first, so a valid caller is counted as themself and
shares no budget with others at the same address; then the request is counted (per user,
or per client address for a missing or wrong token), so guessing tokens runs into 429 like
anything else; then a request without a valid token answers 401. A refused request never
reaches its resource, so it touches no store. Public routes and unknown paths (404, nothing
there) are neither authenticated nor counted. A route open to scrapers (the metrics) also
takes the metrics token, which belongs to no user and spends no budget.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

import falcon

from jobkeeper.http.auth import bearer_token, unauthorized
from jobkeeper.http.rate_limits import RateLimits, Verdict
from jobkeeper.http.routing import Route
from jobkeeper.http.sessions import SAFE_METHODS, Session, Sessions
from jobkeeper.observability.metrics import RATE_LIMITED

Authenticate = Callable[[str], str | None]
"""The name of the user a token belongs to, or None for a wrong or revoked token."""


class Guard:
    """Falcon middleware: authenticates, rate-limits and turns away unauthenticated requests.

    A caller is known by a bearer token or, from the web app, by a session cookie (`sessions`);
    a state-changing request made with a session must prove it comes from the page (CSRF).
    The web app's `pages` know their caller by the session alone; a signed-out visitor of a
    page is sent to the sign-in page, and `open_pages` need no session at all.
    """

    def __init__(
        self,
        authenticate: Authenticate,
        routes: Iterable[Route],
        limits: RateLimits | None,
        sessions: Sessions | None = None,
        pages: Iterable[str] = (),
        open_pages: Iterable[str] = (),
        sign_in: str = "/sign-in",
        metrics_token: str = "",
    ) -> None:
        self.authenticate, self.limits, self.sessions = authenticate, limits, sessions
        self.metrics_token = metrics_token.encode()
        routes = list(routes)
        self.public = {route.template for route in routes if route.public}
        self.scraped = {route.template for route in routes if route.scraped}
        self.pages, self.open_pages, self.sign_in = set(pages), set(open_pages), sign_in
        self.commands = {
            (route.template, operation.method)
            for route in routes
            for operation in route.operations
            if operation.is_command
        }

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: object
    ) -> None:
        """Put the caller's name on `req.context.user`, or answer 429 or 401."""
        req.context.session = None
        if req.uri_template in self.public:
            return
        page = req.uri_template in self.pages or req.uri_template in self.open_pages
        token = None if page else bearer_token(req)
        if token is not None and self._is_metrics_token(req, token):
            req.context.scraper = True
            return
        session: Session | None = None
        if token is not None:
            user = self.authenticate(token)
        elif self.sessions is not None and (page or not req.auth):
            session = self.sessions.read(req)
            user = None if session is None else session.user
        else:
            user = None
        req.context.user, req.context.session = user, session
        if req.uri_template in self.open_pages:
            return
        verdict = self._count(req, user)
        if verdict is not None:
            resp.set_headers(verdict.headers())
            if not verdict.allowed:
                RATE_LIMITED.labels(verdict.kind).inc()
                raise too_many(verdict, user, req.remote_addr)
        if user is None:
            if page:
                raise falcon.HTTPSeeOther(self.sign_in)
            raise unauthorized(req)
        if session is not None and self.sessions is not None:
            self.sessions.check_write(req, session, form=page)

    def _is_metrics_token(self, req: falcon.Request, token: str) -> bool:
        return (
            bool(self.metrics_token)
            and req.uri_template in self.scraped
            and hmac.compare_digest(token.encode(), self.metrics_token)
        )

    def _count(self, req: falcon.Request, user: str | None) -> Verdict | None:
        if self.limits is None:
            return None
        key = f"user:{user}" if user is not None else f"address:{req.remote_addr}"
        writes = (req.uri_template, req.method) in self.commands or (
            req.uri_template in self.pages and req.method not in SAFE_METHODS
        )
        return self.limits.check(req.method, key, writes=writes)


def too_many(verdict: Verdict, user: str | None, address: str) -> falcon.HTTPError:
    """The 429 of a spent budget, with Retry-After and the RateLimit headers."""
    who = user if user is not None else f"requests without a valid token from {address}"
    return falcon.HTTPTooManyRequests(
        title="Too many requests",
        description=f"the {verdict.kind} budget of {who} ({verdict.budget}) is spent; "
        f"retry after {verdict.reset_after} s",
        headers=verdict.headers(),
    )
