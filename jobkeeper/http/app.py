"""The Falcon app: media handlers, error handling, and every route of the route tables."""

from __future__ import annotations

import falcon
import orjson

from jobkeeper.http.errors import add_error_handling
from jobkeeper.http.meta_routes import META_ROUTES
from jobkeeper.http.openapi import document
from jobkeeper.http.representation import to_json
from jobkeeper.http.routes import Route, Wiring
from jobkeeper.http.seed_routes import SEED_ROUTES
from jobkeeper.http.service import Service
from jobkeeper.http.v1_routes import V1_ROUTES

ROUTES: list[Route] = [*META_ROUTES, *V1_ROUTES, *SEED_ROUTES]
"""Every route the app serves; the OpenAPI document describes exactly these."""


def create_app(
    service: Service, *, max_body: int = 1024 * 1024, stream_seconds: float | None = None
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI app serving `service`; bodies over `max_body` bytes answer 413, and event
    streams end after `stream_seconds` (None: when their job finishes)."""
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    app.req_options.strip_url_path_trailing_slash = True
    handler = falcon.media.JSONHandler(dumps=to_json, loads=orjson.loads)
    app.req_options.media_handlers.update({falcon.MEDIA_JSON: handler})
    app.resp_options.media_handlers.update({falcon.MEDIA_JSON: handler})
    add_error_handling(app)
    wiring = Wiring(service, max_body, stream_seconds, document(ROUTES))
    for route in ROUTES:
        app.add_route(route.template, route.resource(wiring))
    return app
