"""The job lifecycle: statuses and which user commands each one allows."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


LIVE = frozenset({Status.RUNNING, Status.STOPPING, Status.CANCELLING})
TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})

COMMANDS = ("stop", "resume", "cancel", "restart")

# For each user command: the statuses it acts from, and those where it is already in effect.
ALLOWED_FROM: dict[str, frozenset[Status]] = {
    "stop": frozenset({Status.QUEUED, Status.RUNNING}),
    "resume": frozenset({Status.STOPPED}),
    "cancel": frozenset({Status.QUEUED, Status.STOPPED, Status.RUNNING, Status.STOPPING}),
    "restart": frozenset({Status.STOPPED, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
}
IN_EFFECT_AT: dict[str, frozenset[Status]] = {
    "stop": frozenset({Status.STOPPING, Status.STOPPED}),
    "resume": frozenset({Status.QUEUED, Status.RUNNING}),
    "cancel": frozenset({Status.CANCELLING, Status.CANCELLED}),
    "restart": frozenset(),
}


def allowed_commands(status: Status) -> tuple[str, ...]:
    """The user commands that change a job in this status."""
    return tuple(c for c in COMMANDS if status in ALLOWED_FROM[c])


def phase(status: Status) -> str:
    """The view a status belongs to: running (queued or live), stopped or finished."""
    if status in TERMINAL:
        return "finished"
    if status is Status.STOPPED:
        return "stopped"
    return "running"
