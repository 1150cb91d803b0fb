"""The route table of the service's own pages: health, the OpenAPI document, the docs."""

from __future__ import annotations

from typing import Any

from jobkeeper.http.docs import ASSETS, DocsAsset, DocsPage, OpenApiDocument
from jobkeeper.http.health import Health
from jobkeeper.http.responses import HealthOut
from jobkeeper.http.routes import Operation, Reply, Route, errors, get

ASSET_TYPES = tuple(sorted(set(ASSETS.values())))
META_ROUTES = [
    Route("/healthz", lambda w: Health(), (get("Whether the service answers", HealthOut),), "meta"),
    Route(
        "/openapi.json",
        lambda w: OpenApiDocument(w.document),
        (get("This OpenAPI document", dict[str, Any]),),
        "meta",
    ),
    Route(
        "/docs",
        lambda w: DocsPage(),
        (
            Operation(
                "GET",
                "Interactive docs (works offline)",
                {200: Reply("The page", media=("text/html",))},
            ),
        ),
        "meta",
    ),
    Route(
        "/docs/assets/{asset}",
        lambda w: DocsAsset(),
        (
            Operation(
                "GET",
                "A file of the docs page",
                {200: Reply("The file", media=ASSET_TYPES), **errors(404)},
            ),
        ),
        "meta",
    ),
]
