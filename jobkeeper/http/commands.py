"""Job commands: stop, resume, cancel, restart; each answers the job as it now is."""

from __future__ import annotations

from collections.abc import Callable

import falcon

from jobkeeper.domain.application import Outcome
from jobkeeper.http.auth import caller
from jobkeeper.http.consistency import tell_outcome
from jobkeeper.http.representation import job_from_aggregate
from jobkeeper.http.service import Service

Command = Callable[[int, str], Outcome]


def commands(service: Service) -> dict[str, Command]:
    """Each command's name and what carries it out; resume and restart also dispatch."""
    return {
        "stop": service.app.stop,
        "resume": service.resume,
        "cancel": service.app.cancel,
        "restart": service.restart,
    }


class JobCommand:
    """POST /jobs/{id}/<command>: 200 with the job (changed or already so), 404, or 409."""

    def __init__(self, command: Command) -> None:
        self.command = command

    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Record the command on the job, by the caller."""
        outcome = self.command(job_id, caller(req))
        tell_outcome(resp, outcome)
        resp.media = job_from_aggregate(outcome.job)
