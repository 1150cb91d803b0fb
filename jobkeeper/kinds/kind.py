"""The interface of a job kind.

A kind is a generator function that does its work in steps::

    def run(ctx: Context) -> Iterator[Step]:
        done = ctx.checkpoint or 0          # None on a fresh attempt
        while done < ctx.params["n"]:
            done += 1
            ctx.log(f"did {done}")
            yield Step(progress=done / ctx.params["n"], checkpoint=done)
        return {"done": done}               # the job's JSON result

Each `yield` is a step boundary: the runtime records the progress and checkpoint (in batches),
and stop and cancel take effect there. Resume calls `run` again with the last checkpoint; restart
calls it with none. A kind that raises fails the job with the error's message. Params arrive
validated against the kind's pydantic model, with defaults filled in.

A kind that owns something outside the process (a program) sets `halts`: a stop, cancel,
deadline or shutdown is then not completed between its steps but asked of it through
`ctx.requested`; it keeps yielding steps while it winds down, and returns `Halted` when done.

Other packages add kinds through the entry-point group `jobkeeper.kinds`, each entry naming a
`Kind` object.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

JSON = Any


@dataclass(frozen=True)
class Step:
    """A step boundary: how far along the job is (0..1) and how to continue from here."""

    progress: float
    checkpoint: JSON


@dataclass(frozen=True)
class Halted:
    """A halting kind's answer to a request: it has wound down; continue from `checkpoint`."""

    checkpoint: JSON


class JobFailedError(Exception):
    """Raised by a kind to fail its job with this message alone (no traceback in the log)."""


class Context(Protocol):
    """What a running kind sees: its params, where to continue from, and its log."""

    @property
    def params(self) -> dict[str, JSON]: ...

    @property
    def checkpoint(self) -> JSON: ...

    @property
    def job_id(self) -> int: ...

    @property
    def attempt(self) -> int: ...

    @property
    def requested(self) -> str | None:
        """For halting kinds: "stop", "cancel", "deadline" or "leave" once asked, else None."""
        ...

    def log(self, text: str) -> None: ...


Run = Callable[[Context], Generator[Step, None, JSON]]


@dataclass(frozen=True)
class Kind:
    """A registered kind of job: a name, a parameter model and the steps it runs."""

    name: str
    summary: str
    params: type[BaseModel]
    run: Run
    halts: bool = False

    def schema(self) -> dict[str, JSON]:
        """The JSON schema of this kind's params."""
        return self.params.model_json_schema()

    def validate(self, params: dict[str, JSON]) -> dict[str, JSON]:
        """`params` checked, with defaults filled in; raises pydantic's ValidationError."""
        return self.params.model_validate(params).model_dump(mode="json")
