"""The route table's shape: each path, its resource, and each operation's inputs and answers.

`create_app` mounts the table and `openapi` describes it, so the two cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from jobkeeper.domain.user import NAME_PATTERN
from jobkeeper.http.docs import ASSETS
from jobkeeper.http.models import MAX_ID
from jobkeeper.http.responses import ErrorOut
from jobkeeper.http.service import Service

JSON = "application/json"
POSITION = "JobKeeper-Position"
PARAMETER = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class PathParameter:
    """A path parameter: its Falcon converter (if any) and its JSON schema."""

    converter: str | None
    schema: Mapping[str, Any]
    description: str = ""


USER_NAME = {"type": "string", "pattern": NAME_PATTERN.pattern}
PATH_PARAMETERS = {
    "job_id": PathParameter(
        f"int(min=1, max={MAX_ID})",
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "the job's id; ids out of range match no route (404)",
    ),
    "name": PathParameter(None, USER_NAME, "a user's name; any other text is no user (404)"),
    "user_name": PathParameter(None, USER_NAME, "a user's name; any other text is no user (404)"),
    "asset": PathParameter(None, {"type": "string", "enum": sorted(ASSETS)}, "a file's name"),
}


@dataclass(frozen=True)
class Reply:
    """One answer of an operation: its body's type (a model, a list of them, or None) and media."""

    description: str
    body: Any = None
    media: tuple[str, ...] = (JSON,)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One method on one path: what it reads and what it answers."""

    method: str
    summary: str
    replies: Mapping[int, Reply]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    forms: bool = False
    replaced_by: str | None = None
    description: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Wiring:
    """What resources are built from."""

    service: Service
    max_body: int
    stream_seconds: float | None
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Route:
    """A path (OpenAPI template), the factory of its resource, and its operations."""

    path: str
    resource: Callable[[Wiring], object]
    operations: tuple[Operation, ...]
    tag: str

    @property
    def parameters(self) -> list[str]:
        """The names of the path's parameters, in order."""
        return PARAMETER.findall(self.path)

    @property
    def template(self) -> str:
        """The path as a Falcon URI template, with each parameter's converter."""
        return PARAMETER.sub(_with_converter, self.path)


def _with_converter(match: re.Match[str]) -> str:
    converter = PATH_PARAMETERS[match[1]].converter
    return f"{{{match[1]}:{converter}}}" if converter else match[0]


def get(summary: str, body: Any, *codes: int, **extra: Any) -> Operation:
    """A GET answering `body` (200) or the errors of `codes`."""
    return Operation("GET", summary, {200: Reply("OK", body), **errors(*codes)}, **extra)


def create(summary: str, body: type[BaseModel], answer: Any, **extra: Any) -> Operation:
    """A POST that creates what `body` describes: 201 with `answer`, or a bad-input error."""
    headers = {"Location": "where the new resource is", POSITION: "pass as `position` to lists"}
    replies = {201: Reply("Created", answer, headers=headers), **errors(400, 409, 413, 415)}
    return Operation("POST", summary, replies, body=body, **extra)


def errors(*statuses: int) -> dict[int, Reply]:
    """The error answers of `statuses`, each a JSON {title, description}."""
    return {status: Reply(ERROR_MEANINGS[status], ErrorOut) for status in statuses}


ERROR_MEANINGS = {
    400: "Bad input: the description says what to fix",
    404: "No such job, user or path",
    409: "The command is not allowed in the job's status, or the name is taken",
    413: "The body is larger than the limit",
    415: "The body's content type is not accepted",
}
