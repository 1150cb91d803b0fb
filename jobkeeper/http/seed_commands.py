"""The seed's job commands: cancel, stop, resume and restart by GET, and PUT of a status word."""

from __future__ import annotations

import falcon

from jobkeeper.http.auth import caller
from jobkeeper.http.commands import Command
from jobkeeper.http.consistency import tell_outcome
from jobkeeper.http.forms import read_form
from jobkeeper.http.representation import job_from_aggregate
from jobkeeper.http.seed_models import SeedJobUpdate
from jobkeeper.http.seed_representation import seed_job
from jobkeeper.http.service import Service

COMMAND_OF_STATUS = {"Stopped": "stop", "Running": "resume", "Cancelled": "cancel"}
"""PUT /api/getdetailedjob/{id} moves a job to one of these status words by this command."""


class SeedJobCommand:
    """GET /api/canceljob/{id} and the like: a one-element array with the job, as the seed had."""

    def __init__(self, command: Command) -> None:
        self.command = command

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Record the command on the job, by the caller (404, or 409 when not allowed)."""
        outcome = self.command(job_id, caller(req))
        tell_outcome(resp, outcome)
        resp.media = [seed_job(job_from_aggregate(outcome.job))]


class SeedJobDetail:
    """GET /api/getdetailedjob/{id} reads a job; PUT moves it to a status word."""

    def __init__(self, service: Service, commands: dict[str, Command], max_body: int) -> None:
        self.service, self.commands, self.max_body = service, commands, max_body

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """The job, from its events."""
        resp.media = seed_job(job_from_aggregate(self.service.app.get_job(job_id)))

    def on_put(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Stopped stops the job, Running resumes it, Cancelled cancels it."""
        body = read_form(req, SeedJobUpdate, self.max_body)
        outcome = self.commands[COMMAND_OF_STATUS[body.status]](job_id, caller(req))
        tell_outcome(resp, outcome)
        resp.media = seed_job(job_from_aggregate(outcome.job))
