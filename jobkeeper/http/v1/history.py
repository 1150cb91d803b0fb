"""A job's history: every recorded event, for audit."""

from __future__ import annotations

import falcon

from jobkeeper.http.port import Service
from jobkeeper.http.v1.representation import history_entry


class JobHistory:
    """GET /jobs/{id}/history: every event of the job, oldest first."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """The job's events: version, type, at, by, data."""
        resp.media = {"items": [history_entry(e) for e in self.service.app.history(job_id)]}
