"""The OpenAPI document and the interactive docs page, whose assets ship with the package.

Swagger UI's files come from the `swagger-ui-py` distribution (package data there); the page
names only paths of this service, so it works on a machine with no internet.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import falcon

from jobkeeper.http.media import to_json

ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "favicon-32x32.png": "image/png",
}
"""The Swagger UI files the page uses, and their media types."""
ASSETS_PATH = "/docs/assets"
PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>jobkeeper API</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="docs"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "/openapi.json", dom_id: "#docs", deepLinking: true, validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"
}});
</script>
</body>
</html>
"""


def assets_folder() -> Path:
    """Where the installed swagger-ui-py keeps Swagger UI's static files (without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing; reinstall jobkeeper")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class OpenApiDocument:
    """GET /openapi.json: the OpenAPI 3.1 document of every route."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.body = to_json(document)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The document, as JSON."""
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.body


class DocsPage:
    """GET /docs: Swagger UI over /openapi.json."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The page."""
        resp.content_type = falcon.MEDIA_HTML
        resp.text = PAGE


class DocsAsset:
    """GET /docs/assets/{asset}: one of the page's files."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or assets_folder()
        self.cache: dict[str, bytes] = {}

    def on_get(self, req: falcon.Request, resp: falcon.Response, asset: str) -> None:
        """The file, cacheable for a day; 404 for any other name."""
        if asset not in ASSETS:
            raise falcon.HTTPNotFound(
                title="Not found", description=f"there is no docs asset {asset!r}"
            )
        resp.content_type = ASSETS[asset]
        resp.cache_control = ["public", "max-age=86400"]
        if asset not in self.cache:
            self.cache[asset] = (self.folder / asset).read_bytes()
        resp.data = self.cache[asset]
