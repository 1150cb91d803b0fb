"""The Falcon app: media handlers, the guard, error handling, and every route of the tables."""

from __future__ import annotations

from typing import Any

import falcon

from jobkeeper.domain.errors import UserNotFoundError
from jobkeeper.http.errors import add_error_handling
from jobkeeper.http.feed import Feed
from jobkeeper.http.guard import Authenticate, Guard
from jobkeeper.http.legacy.routes import LEGACY_ROUTES
from jobkeeper.http.media import from_json, to_json
from jobkeeper.http.meta.openapi import document
from jobkeeper.http.meta.routes import META_ROUTES
from jobkeeper.http.port import Service
from jobkeeper.http.rate_limits import RateLimits
from jobkeeper.http.request_log import RequestLog
from jobkeeper.http.routing import CONVERTERS, Route, Wiring
from jobkeeper.http.sessions import Sessions, TokenDigest
from jobkeeper.http.stream_slots import SharedStreamSlots, Slots, StreamSlots
from jobkeeper.http.ui.render import SecurityHeaders
from jobkeeper.http.ui.routes import UI_ROUTES
from jobkeeper.http.v1.representation import JOB_FIELDS, job_from_stored
from jobkeeper.http.v1.routes import V1_ROUTES

DEFAULT_MAX_STREAMS = 20

ROUTES: list[Route] = [*META_ROUTES, *V1_ROUTES, *LEGACY_ROUTES]
"""Every route the app serves; the OpenAPI document describes exactly these."""


def create_app(
    service: Service,
    *,
    max_body: int = 1024 * 1024,
    stream_seconds: float | None = None,
    rate_limits: RateLimits | None = None,
    metrics_token: str = "",
    session_seconds: float = 12 * 3600,
    session_secret: str = "",
    max_streams_per_user: int = DEFAULT_MAX_STREAMS,
    stream_counter: tuple[str, str] | None = None,
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI app serving `service`; bodies over `max_body` bytes answer 413, event streams
    end after `stream_seconds` (None: when their job finishes), each user keeps at most
    `max_streams_per_user` open (counted in this process, or in Redis for every process when
    `stream_counter` is a Redis URL and a key namespace), callers are held to `rate_limits`
    (None: no limits), web sessions last `session_seconds`, and /metrics also answers to
    `metrics_token`."""
    sessions = Sessions(digest_with(service), lifetime=session_seconds, secret=session_secret)
    guard = Guard(
        authenticate_with(service),
        ROUTES,
        rate_limits,
        sessions,
        pages=[route.template for route in UI_ROUTES if not route.open],
        open_pages=[route.template for route in UI_ROUTES if route.open],
        metrics_token=metrics_token,
    )
    middleware: list[Any] = [RequestLog(), guard, SecurityHeaders()]
    app = falcon.App(media_type=falcon.MEDIA_JSON, middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    app.router_options.converters.update(CONVERTERS)
    handler = falcon.media.JSONHandler(dumps=to_json, loads=from_json)
    app.req_options.media_handlers.update({falcon.MEDIA_JSON: handler})
    app.resp_options.media_handlers.update({falcon.MEDIA_JSON: handler})
    add_error_handling(app)
    feed = Feed(service, JOB_FIELDS, lambda row: to_json(job_from_stored(row)))
    slots: Slots = StreamSlots(max_streams_per_user)
    if stream_counter is not None:
        slots = SharedStreamSlots(max_streams_per_user, *stream_counter)
    wiring = Wiring(service, max_body, stream_seconds, document(ROUTES), feed, slots)
    for route in ROUTES:
        app.add_route(route.template, route.resource(wiring))
    for page in UI_ROUTES:
        app.add_route(page.template, page.resource(service, sessions))
    return app


def authenticate_with(service: Service) -> Authenticate:
    """Finds the name of the user a token belongs to, through the domain's constant-time check."""

    def authenticate(token: str) -> str | None:
        user = service.app.authenticate(token)
        return None if user is None else user.name

    return authenticate


def digest_with(service: Service) -> TokenDigest:
    """The recorded digest of a user's token while it is not revoked, read from the store (so
    a revocation made by any process ends the token's sessions at their next request)."""

    def digest_of(name: str, token_id: str) -> str | None:
        try:
            user = service.app.get_user(name)
        except UserNotFoundError:
            return None
        record = user.tokens.get(token_id)
        return None if record is None else str(record["digest"])

    return digest_of
