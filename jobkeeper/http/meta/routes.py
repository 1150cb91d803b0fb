"""The route table of the service's own pages: health, readiness, metrics, the OpenAPI
document, the docs.

All but the metrics are public: they answer without a token and spend no budget. The
metrics take an admin's token or the metrics token.
"""

from __future__ import annotations

from typing import Any

from jobkeeper.http.meta.docs import ASSETS, DocsAsset, DocsPage, OpenApiDocument
from jobkeeper.http.meta.health import Health, HealthOut, NotReadyOut, Ready, ReadyOut
from jobkeeper.http.meta.metrics import MetricsPage
from jobkeeper.http.routing import Operation, PathParameter, Reply, Route, errors, get

ASSET_TYPES = tuple(sorted(set(ASSETS.values())))
ASSET = PathParameter(None, {"type": "string", "enum": sorted(ASSETS)}, "a file's name")
META_ROUTES = [
    Route(
        "/healthz",
        lambda w: Health(),
        (get("Whether the service answers", HealthOut),),
        "meta",
        public=True,
    ),
    Route(
        "/readyz",
        lambda w: Ready(w.service),
        (
            Operation(
                "GET",
                "Whether the service can do its work: stores, views' lag, broker",
                {
                    200: Reply("Ready", ReadyOut),
                    503: Reply(
                        "Not ready: the description names what is not",
                        NotReadyOut,
                        headers={"Retry-After": "seconds to wait before asking again"},
                    ),
                },
            ),
        ),
        "meta",
        public=True,
    ),
    Route(
        "/metrics",
        lambda w: MetricsPage(w.service),
        (
            Operation(
                "GET",
                "Prometheus metrics (an admin's token, or JOBKEEPER_METRICS_TOKEN)",
                {200: Reply("The metrics", media=("text/plain",)), **errors(403)},
            ),
        ),
        "meta",
        scraped=True,
    ),
    Route(
        "/openapi.json",
        lambda w: OpenApiDocument(w.document),
        (get("This OpenAPI document", dict[str, Any]),),
        "meta",
        public=True,
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
        public=True,
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
        public=True,
        path_parameters={"asset": ASSET},
    ),
]
