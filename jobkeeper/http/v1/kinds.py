"""Job kinds: what can be submitted, with each kind's parameter schema."""

from __future__ import annotations

import falcon

from jobkeeper.http.port import Service


class KindCollection:
    """GET /kinds: the registered kinds."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Every kind's name, summary and params schema."""
        resp.media = {
            "items": [
                {"name": kind.name, "summary": kind.summary, "params_schema": kind.schema()}
                for kind in self.service.kinds
            ]
        }
