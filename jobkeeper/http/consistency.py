"""Read-your-writes: commands tell their position, lists wait for a position they are given."""

from __future__ import annotations

import falcon

from jobkeeper.application.app import Outcome
from jobkeeper.http.port import Service

POSITION_HEADER = "JobKeeper-Position"
CHANGED_HEADER = "JobKeeper-Changed"
WAIT_SECONDS = 2.0


def await_position(service: Service, position: int | None) -> None:
    """Let the views include `position` (bounded: the answer may be a little stale after that)."""
    if position:
        # No write lies beyond the log's end: a later position would only waste the wait.
        service.views.wait(min(position, service.app.position()), WAIT_SECONDS)


def tell_position(resp: falcon.Response, position: int | None) -> None:
    """Say where a write landed, so the next list can wait for it."""
    if position is not None:
        resp.set_header(POSITION_HEADER, str(position))


def tell_outcome(resp: falcon.Response, outcome: Outcome) -> None:
    """Say whether a command changed the job, and where its events landed."""
    resp.set_header(CHANGED_HEADER, "true" if outcome.changed else "false")
    tell_position(resp, outcome.position)


def await_latest(service: Service) -> None:
    """Let the views include every write made so far (bounded), as the older service's reads did."""
    await_position(service, service.app.position())
