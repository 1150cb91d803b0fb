"""Legacy job commands: cancel, stop, resume and restart by GET, and PUT of a status word."""

from __future__ import annotations

import falcon

from jobkeeper.http.auth import caller
from jobkeeper.http.consistency import tell_outcome
from jobkeeper.http.legacy.forms import read_form
from jobkeeper.http.legacy.models import LegacyJobUpdate
from jobkeeper.http.legacy.representation import legacy_job
from jobkeeper.http.port import Service
from jobkeeper.http.v1.representation import job_from_aggregate

COMMAND_OF_STATUS = {"Stopped": "stop", "Running": "resume", "Cancelled": "cancel"}
"""PUT /api/getdetailedjob/{id} moves a job to one of these status words by this command."""


class LegacyJobCommand:
    """GET /api/canceljob/{id} and the like: a one-element array with the job, as it was."""

    def __init__(self, service: Service, command: str) -> None:
        self.service, self.command = service, command

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Record the command on the job, by the caller (404, or 409 when not allowed)."""
        outcome = self.service.app.command(self.command, job_id, caller(req))
        tell_outcome(resp, outcome)
        resp.media = [legacy_job(job_from_aggregate(outcome.job))]


class LegacyJobDetail:
    """GET /api/getdetailedjob/{id} reads a job; PUT moves it to a status word."""

    def __init__(self, service: Service, max_body: int) -> None:
        self.service, self.max_body = service, max_body

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """The job, from its events."""
        resp.media = legacy_job(job_from_aggregate(self.service.app.get_job(job_id)))

    def on_put(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Stopped stops the job, Running resumes it, Cancelled cancels it."""
        body = read_form(req, LegacyJobUpdate, self.max_body)
        outcome = self.service.app.command(COMMAND_OF_STATUS[body.status], job_id, caller(req))
        tell_outcome(resp, outcome)
        resp.media = legacy_job(job_from_aggregate(outcome.job))
