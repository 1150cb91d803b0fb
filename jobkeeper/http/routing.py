"""The route table's shape: each path, its resource, and each operation's inputs and answers.

`create_app` mounts the table and `openapi` describes it, so the two cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from falcon.routing import BaseConverter
from pydantic import BaseModel

from jobkeeper.domain.user import NAME_PATTERN
from jobkeeper.http.consistency import POSITION_HEADER
from jobkeeper.http.feed import Feed
from jobkeeper.http.models import MAX_ID, ErrorOut
from jobkeeper.http.port import Service
from jobkeeper.http.rate_limits import COMMAND_METHODS
from jobkeeper.http.stream_slots import Slots

API_V1 = "/api/v1"
"""Where the v1 API lives."""
JSON = "application/json"
PARAMETER = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class PathParameter:
    """A path parameter: its Falcon converter (if any) and its JSON schema."""

    converter: str | None
    schema: Mapping[str, Any]
    description: str = ""


class TextConverter(BaseConverter):
    """A path segment of text: any but one with a NUL character, which matches no route (404)
    rather than reach a store that cannot hold it."""

    def convert(self, value: str) -> str | None:
        """The segment as it is, or None (no match) when it holds a NUL character."""
        return None if "\x00" in value else value


CONVERTERS = {"text": TextConverter}
"""The converters of ours that route templates use, by name."""
USER_NAME = {"type": "string", "pattern": NAME_PATTERN.pattern}
PATH_PARAMETERS: Mapping[str, PathParameter] = {
    "job_id": PathParameter(
        f"int(min=1, max={MAX_ID})",
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "the job's id; ids out of range match no route (404)",
    ),
    "name": PathParameter("text", USER_NAME, "a user's name; any other text is no user (404)"),
    "user_name": PathParameter("text", USER_NAME, "a user's name; any other text is no user (404)"),
    "token_id": PathParameter(
        "text",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "a token's id (the part after the user's name); any other text is no token (404)",
    ),
}
"""The path parameters routes share; a route may add its own (`Route.path_parameters`)."""


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
    writes: bool = False  # a GET that changes state (the older service's command paths)
    body_required: bool = True

    @property
    def is_command(self) -> bool:
        """Whether the operation spends the command budget (else the read budget)."""
        return self.writes or self.method in COMMAND_METHODS


@dataclass(frozen=True)
class Wiring:
    """What resources are built from."""

    service: Service
    max_body: int
    stream_seconds: float | None
    document: Mapping[str, Any]
    feed: Feed
    slots: Slots


@dataclass(frozen=True)
class Route:
    """A path (OpenAPI template), the factory of its resource, and its operations.

    A `public` route answers without credentials and without a rate limit.
    """

    path: str
    resource: Callable[[Wiring], object]
    operations: tuple[Operation, ...]
    tag: str
    public: bool = False
    path_parameters: Mapping[str, PathParameter] = field(default_factory=dict)

    @property
    def parameters(self) -> list[str]:
        """The names of the path's parameters, in order."""
        return PARAMETER.findall(self.path)

    def parameter(self, name: str) -> PathParameter:
        """The converter and schema of the path parameter `name`."""
        return self.path_parameters.get(name) or PATH_PARAMETERS[name]

    @property
    def template(self) -> str:
        """The path as a Falcon URI template, with each parameter's converter."""

        def with_converter(match: re.Match[str]) -> str:
            converter = self.parameter(match[1]).converter
            return f"{{{match[1]}:{converter}}}" if converter else match[0]

        return PARAMETER.sub(with_converter, self.path)


def get(summary: str, body: Any, *codes: int, **extra: Any) -> Operation:
    """A GET answering `body` (200) or the errors of `codes`."""
    return Operation("GET", summary, {200: Reply("OK", body), **errors(*codes)}, **extra)


def create(summary: str, body: type[BaseModel], answer: Any, **extra: Any) -> Operation:
    """A POST that creates what `body` describes: 201 with `answer`, or a bad-input error."""
    headers = {
        "Location": "where the new resource is",
        POSITION_HEADER: "pass as `position` to lists",
    }
    replies = {201: Reply("Created", answer, headers=headers), **errors(400, 403, 409, 413, 415)}
    return Operation("POST", summary, replies, body=body, **extra)


def errors(*statuses: int) -> dict[int, Reply]:
    """The error answers of `statuses`, each a JSON {title, description}."""
    return {status: Reply(ERROR_MEANINGS[status], ErrorOut) for status in statuses}


ERROR_MEANINGS = {
    400: "Bad input: the description says what to fix",
    401: "No token, or a wrong or revoked one: send `Authorization: Bearer <token>`",
    403: "The caller may not do this (not the job's owner, the user, or an admin)",
    404: "No such job, user, token or path",
    409: "The command is not allowed in the job's status, or the name is taken",
    413: "The body is larger than the limit",
    415: "The body's content type is not accepted",
    422: "A query parameter has a value this operation cannot use: the description says which",
    429: "Over the caller's budget of commands or reads: retry after `Retry-After` seconds",
}
RATE_HEADERS = {
    "RateLimit-Limit": "requests of this kind (commands or reads) allowed per window",
    "RateLimit-Remaining": "requests of this kind left in the window",
    "RateLimit-Reset": "seconds until the window frees a request",
}
GUARD_REPLIES = {
    401: Reply(
        ERROR_MEANINGS[401], ErrorOut, headers={"WWW-Authenticate": '`Bearer realm="jobkeeper"`'}
    ),
    429: Reply(
        ERROR_MEANINGS[429],
        ErrorOut,
        headers={"Retry-After": "seconds to wait before trying again", **RATE_HEADERS},
    ),
}
"""What every protected operation may answer besides its own replies."""
