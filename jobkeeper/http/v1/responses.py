"""The v1 API's output models: what every answer looks like (representation builds from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from jobkeeper.domain.lifecycle import Status
from jobkeeper.http.models import Out

Command = Literal["stop", "resume", "cancel", "restart"]


class JobOut(Out):
    """A job: its status, progress and times, what it runs, and what may be done with it."""

    id: int
    name: str
    kind: str
    owner: str
    params: dict[str, Any]
    status: Status
    progress: float = Field(description="0 to 1, as far as the kind reported")
    attempt: int = Field(description="1, then one more on each restart")
    checkpoint: Any = Field(description="where a resume continues from (JSON, kind-specific)")
    result: Any = Field(description="what the job produced once succeeded (JSON)")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    not_before: datetime | None
    deadline: datetime | None
    version: int = Field(description="the number of the job's last event")
    allowed_commands: list[Command]


class JobPage(Out):
    """A page of jobs, newest first."""

    items: list[JobOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class JobList(Out):
    """Jobs, newest first."""

    items: list[JobOut]


class UserOut(Out):
    """A user."""

    id: int
    name: str
    surname: str
    title: str
    role: str
    created_at: datetime


class NewTokenOut(Out):
    """A token as issued: `token` is shown this once and never again (only its hash is kept)."""

    token_id: str = Field(description="names the token in DELETE /users/{name}/tokens/{token_id}")
    token: str = Field(description="send as `Authorization: Bearer <token>`")
    label: str


class NewUserOut(UserOut):
    """A user just created, with their first token (shown this once)."""

    token: NewTokenOut


class TokenOut(Out):
    """A token of a user, without its secret."""

    token_id: str
    label: str
    issued_at: datetime


class TokenList(Out):
    """A user's tokens, in the order they were issued."""

    items: list[TokenOut]


class UserPage(Out):
    """A page of users, in creation order."""

    items: list[UserOut]
    next_after: int | None = Field(description="pass as `after` for the next page")


class LogLineOut(Out):
    """One log line of a job."""

    id: int = Field(description="orders every log line of every job")
    job_id: int
    line: int = Field(description="1, 2, 3, ... within the job")
    at: str = Field(description="when the kind wrote it (ISO-8601)")
    text: str


class LogPage(Out):
    """A page of log lines, oldest first."""

    items: list[LogLineOut]
    next_after: int | None = Field(description="pass as `after` for the next page")


class HistoryEntryOut(Out):
    """One recorded event of a job."""

    version: int
    type: str
    at: datetime
    by: str = Field(description="the user who caused it, or `system`")
    data: dict[str, Any]
    hash: str | None = Field(
        description="the event's link in the job's hash chain (SHA-256, hex); null for "
        "events recorded before the chains"
    )


class HistoryPageOut(Out):
    """A page of a job's events, in the order asked for."""

    items: list[HistoryEntryOut]
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class KindOut(Out):
    """A kind of job that can be submitted."""

    name: str
    summary: str
    params_schema: dict[str, Any] = Field(description="the JSON schema of the kind's params")


class KindList(Out):
    """The registered kinds."""

    items: list[KindOut]


class HeadOut(Out):
    """The latest hashed event of one chain."""

    stream: str = Field(description="`job-N` or `user-NAME`")
    version: int
    hash: str


class AnchorsOut(Out):
    """The head of every chain, and a digest over them all."""

    algorithm: Literal["sha256"]
    digest: str = Field(description="SHA-256 of one `stream version hash` line per head, sorted")
    heads: list[HeadOut]
    unhashed_streams: int = Field(description="streams recorded before the chains only")
    signature: str | None = Field(
        None, description="HMAC-SHA256 of the digest under JOBKEEPER_AUDIT_KEY, when set"
    )


class ChainHeadOut(Out):
    """Where a chain ends."""

    version: int
    hash: str


class BrokenLinkOut(Out):
    """The first broken link of a chain."""

    stream: str
    version: int = Field(description="the version at which the chain breaks")
    problem: str = Field(description="what differs, in words")
    recorded: str | None = Field(description="the hash recorded (or kept earlier)")
    computed: str | None = Field(description="the hash the chain gives now")


class ChainReportOut(Out):
    """A job's hash chain, recomputed."""

    stream: str
    intact: bool
    events: int
    unhashed: int = Field(description="events recorded before the chain started (no hash)")
    hashed_from: int | None = Field(description="the version the chain starts at")
    head: ChainHeadOut | None
    broken: BrokenLinkOut | None


class ViewsCheckOut(Out):
    """The views compared with a replay of the log."""

    intact: bool
    rows: dict[str, dict[str, int]] = Field(
        description="rows compared, by table and outcome (match, differ, missing)"
    )
    differences: list[str]
