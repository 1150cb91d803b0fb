"""GET /metrics: the Prometheus text format, for an admin's token or the metrics token."""

from __future__ import annotations

import falcon

from jobkeeper.http.auth import caller
from jobkeeper.http.port import Service
from jobkeeper.observability.metrics import CONTENT_TYPE, exposition


class MetricsPage:
    """Answers the metrics to a scraper that sends `Authorization: Bearer <token>` with an
    admin's token or JOBKEEPER_METRICS_TOKEN (a token for scraping alone, no user's)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Every metric, with the view gauges read now."""
        self._check(req)
        resp.content_type = CONTENT_TYPE
        resp.data = exposition(self.service.metrics_snapshot)

    def _check(self, req: falcon.Request) -> None:
        if getattr(req.context, "scraper", False):  # the guard took the metrics token
            return
        if not self.service.app.is_admin(caller(req)):
            raise falcon.HTTPForbidden(
                title="Forbidden",
                description="metrics are for admins: send an admin's token, or the token set in "
                "JOBKEEPER_METRICS_TOKEN",
            )
