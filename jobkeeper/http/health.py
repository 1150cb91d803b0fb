"""Health: answers while the process serves requests."""

from __future__ import annotations

import falcon


class Health:
    """GET /healthz: never needs credentials."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Say the service is up."""
        resp.media = {"status": "ok"}
