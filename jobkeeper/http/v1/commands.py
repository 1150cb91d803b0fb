"""Job commands: stop, resume, cancel, restart; each answers the job as it now is."""

from __future__ import annotations

import falcon

from jobkeeper.http.auth import caller
from jobkeeper.http.consistency import tell_outcome
from jobkeeper.http.idempotency import keyed_request, tell_replayed
from jobkeeper.http.port import Service
from jobkeeper.http.v1.representation import job_from_aggregate


class JobCommand:
    """POST /jobs/{id}/<command>: 200 with the job (changed or already so), 404, or 409."""

    def __init__(self, service: Service, command: str) -> None:
        self.service, self.command = service, command

    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Record the command on the job, by the caller (once per idempotency key)."""
        keyed = keyed_request(req)
        outcome = self.service.app.command(self.command, job_id, caller(req), keyed)
        tell_outcome(resp, outcome)
        tell_replayed(resp, outcome)
        resp.media = job_from_aggregate(outcome.job)
