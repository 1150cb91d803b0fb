"""The v1 API's input models: request bodies and query strings (the source of their schemas)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, field_validator

from jobkeeper.application.history import EVENT_TYPES
from jobkeeper.domain.lifecycle import Status
from jobkeeper.http.models import MAX_ID, MAX_LOG_ID, Body, Query


def _iso_text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 string with a time zone, like 2030-01-01T00:00:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]
Position = Annotated[
    int | None,
    Field(ge=0, le=MAX_LOG_ID, description="wait (about 2 s at most) until views include it"),
]


class JobSubmission(Body):
    """POST /jobs: a job to run."""

    kind: str = Field(min_length=1, max_length=100, description="a registered kind (GET /kinds)")
    name: str | None = Field(None, max_length=200, description="defaults to the kind")
    params: dict[str, Any] = Field(default_factory=dict, description="checked by the kind")
    owner: str | None = Field(None, max_length=64, description="a user; defaults to the caller")
    not_before: Moment | None = Field(None, description="do not start before this moment")
    deadline: Moment | None = Field(None, description="fail the job if not done by then")


class UserCreation(Body):
    """POST /users: a new user."""

    name: str = Field(description="1 to 64 letters, digits, '.', '_' or '-'")
    surname: str = Field("", max_length=200)
    title: str = Field("", max_length=200)
    role: str = Field("user", description="user or admin")


class TokenRequest(Body):
    """POST /users/{name}/tokens: what the new token is for (the body may be left out)."""

    label: str = Field("", max_length=200, description="what the token is for")


class JobPageQuery(Query):
    """GET /jobs/running and /jobs/finished."""

    limit: int = Field(50, ge=1, le=1000)
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the last page")
    position: Position = None


def _one_or_more(value: object) -> object:
    """`status=a&status=b` and `status=a,b` alike: a list of the values given."""
    values = value if isinstance(value, list) else [value]
    return [part for v in values for part in (v.split(",") if isinstance(v, str) else [v])]


class JobFilters(Query):
    """Which jobs: the filters of GET /jobs, its phase lists and GET /jobs/stream."""

    status: Annotated[
        list[Status] | None,
        BeforeValidator(_one_or_more),
        Field(
            None,
            min_length=1,
            max_length=len(Status),
            description="one or more statuses: status=a&status=b or status=a,b",
        ),
    ] = None
    owner: str | None = Field(None, max_length=200, description="the owner's name")
    kind: str | None = Field(None, max_length=100, description="the job kind")
    q: str | None = Field(
        None, min_length=1, max_length=200, description="text in the job's name (any case)"
    )


class JobListQuery(JobPageQuery, JobFilters):
    """GET /jobs."""


class JobStreamQuery(JobFilters):
    """GET /jobs/stream: the filters of GET /jobs (no paging: the stream follows changes)."""


class JobVersionQuery(Query):
    """GET /jobs/{id}."""

    version: int | None = Field(None, ge=1, description="the job as it was after this event")


class LogQuery(Query):
    """GET /logs and /jobs/{id}/logs."""

    after: int = Field(0, ge=0, le=MAX_LOG_ID, description="next_after of the last page")
    limit: int = Field(100, ge=1, le=1000)
    position: Position = None


class HistoryQuery(Query):
    """GET /jobs/{id}/history."""

    after: int | None = Field(
        None,
        ge=0,
        le=MAX_LOG_ID,
        description="next_after of the last page: versions after it in the reading order "
        "(above it oldest first, below it newest first); left out, from the start",
    )
    limit: int = Field(100, ge=1, le=1000)
    type: list[str] = Field(
        default_factory=list,
        description="only events of these types (repeat for several): "
        + ", ".join(EVENT_TYPES),
    )
    order: Literal["asc", "desc"] = Field("asc", description="asc: oldest first; desc: newest")

    @field_validator("type")
    @classmethod
    def _known_types(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(
                f"unknown event type {unknown[0]!r}; the types are {', '.join(EVENT_TYPES)}"
            )
        return types


class UserListQuery(Query):
    """GET /users."""

    after: int = Field(0, ge=0, le=MAX_ID, description="next_after of the last page")
    limit: int = Field(100, ge=1, le=1000)
    position: Position = None


class UserJobsQuery(Query):
    """GET /users/{name}/jobs."""

    limit: int = Field(10, ge=1, le=100)
    position: Position = None
