"""The legacy request and answer shapes, in their own words (the source of their schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobkeeper.domain.user import NAME_PATTERN
from jobkeeper.http.models import MAX_ID, MAX_LOG_ID, Out, Query
from jobkeeper.kinds.legacy import LegacyMoment, duration

JobType = Literal[
    "Product matching",
    "Hourly price comparison",
    "Rating - review tracking",
    "Competition analysis",
    "Buybox tracking",
]
StatusWord = Literal["Running", "Stopped", "Success", "Failed", "Cancelled"]
UserId = Annotated[int, Field(ge=1, le=MAX_ID)]
UserName = Annotated[str, Field(pattern=NAME_PATTERN.pattern)]


class LegacyBody(BaseModel):
    """A legacy request body: fields it does not read are ignored, as the older service did."""

    model_config = ConfigDict(extra="ignore")


class LegacyJobCreation(LegacyBody):
    """POST /api/createjob/: a job of one of the five legacy types, run end_time - start_time."""

    job_name: str = Field("", max_length=200, description="defaults to the job type")
    job_type: JobType
    start_time: LegacyMoment = Field(description="ISO-8601 date and time; without a zone, UTC")
    end_time: LegacyMoment = Field(description="not before start_time, at most 366 days after it")
    user: UserId | UserName = Field(
        description="a user's name, or their integer id (a name made of digits is looked up "
        "as a name first)"
    )

    @model_validator(mode="after")
    def _has_a_duration(self) -> LegacyJobCreation:
        duration(self.start_time, self.end_time)
        return self


class LegacyJobUpdate(LegacyBody):
    """PUT /api/getdetailedjob/{id}: the status word to move the job to.

    Stopped stops the job, Running resumes it, Cancelled cancels it; the other legacy fields
    are read-only and ignored.
    """

    status: Literal["Stopped", "Running", "Cancelled"]


class LegacyUserCreation(LegacyBody):
    """POST /api/userlist/: a new user."""

    name: str = Field(description="1 to 64 letters, digits, '.', '_' or '-'")
    surname: str = Field("", max_length=200)
    title: str = Field("", max_length=200)


class LegacyPageQuery(Query):
    """The legacy job lists: all of them, a page of `limit` at a time (next page in `Link`)."""

    limit: int = Field(1000, ge=1, le=10000)
    cursor: str | None = Field(None, max_length=200, description="from the `Link` header")


class LegacyAfterQuery(Query):
    """The older service's log and user lists: `limit` items after `after` (next page in `Link`)."""

    after: int = Field(0, ge=0, le=MAX_LOG_ID, description="from the `Link` header")
    limit: int = Field(1000, ge=1, le=10000)


class LegacyLastJobsQuery(Query):
    """GET /api/lastjobs/{user_name}."""

    limit: int = Field(10, ge=1, le=100)


class LegacyJob(Out):
    """A job in the older service's words.

    status: Running (queued, running, stopping or cancelling), Stopped, Success, Failed or
    Cancelled. progress: true while a worker is at it (running, stopping, cancelling).
    finished: true once Success, Failed or Cancelled.
    """

    id: int
    progress: bool
    status: StatusWord
    created: datetime
    start_time: datetime | None = Field(description="as given; for other kinds, when it started")
    end_time: datetime | None = Field(description="as given; for other kinds, when it finished")
    job_type: str = Field(description="one of the older service's five types, or the kind's name")
    job_name: str
    user: str
    finished: bool


class LegacyUser(Out):
    """A user in the older service's words."""

    id: int
    name: str
    surname: str
    title: str


class LegacyLogLine(Out):
    """A log line in the older service's words."""

    text: str
    created: str = Field(description="when it was written (ISO-8601)")
