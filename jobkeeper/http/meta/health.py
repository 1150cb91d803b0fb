"""Health and readiness: whether the process answers, and whether it can do its work."""

from __future__ import annotations

from typing import Literal

import falcon

from jobkeeper.http.models import Out
from jobkeeper.http.port import Service

RETRY_AFTER = 5


class HealthOut(Out):
    """The service answers."""

    status: Literal["ok"]


class Health:
    """GET /healthz: never needs credentials."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Say the service is up."""
        resp.media = {"status": "ok"}


class ReadyOut(Out):
    """Every check answered "ok"."""

    status: Literal["ready"]
    checks: dict[str, str]


class NotReadyOut(Out):
    """Some check did not answer "ok": each check's answer, and the problems in one line."""

    title: Literal["Not ready"]
    description: str
    checks: dict[str, str]


class Ready:
    """GET /readyz: 200 when the stores answer, the views are within the lag allowed and
    (scaled) the broker answers; 503 naming what is not ready. Never needs credentials."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Run every check (bounded in time) and answer with each one's answer."""
        report = self.service.readiness.report()
        if report.ready:
            resp.media = {"status": "ready", "checks": report.checks}
            return
        resp.status = falcon.HTTP_503
        resp.set_header("Retry-After", str(RETRY_AFTER))
        problems = report.problems()
        resp.media = {"title": "Not ready", "description": problems, "checks": report.checks}
