"""Health: answers while the process serves requests."""

from __future__ import annotations

from typing import Literal

import falcon

from jobkeeper.http.models import Out


class HealthOut(Out):
    """The service answers."""

    status: Literal["ok"]


class Health:
    """GET /healthz: never needs credentials."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Say the service is up."""
        resp.media = {"status": "ok"}
