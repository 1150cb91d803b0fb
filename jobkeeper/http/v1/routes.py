"""The route table of the v1 API: jobs, their commands, logs and history, kinds; and users."""

from __future__ import annotations

from jobkeeper.domain.lifecycle import COMMANDS
from jobkeeper.http.consistency import CHANGED_HEADER, POSITION_HEADER
from jobkeeper.http.idempotency import HEADERS as IDEMPOTENCY_HEADERS
from jobkeeper.http.idempotency import REPLAYED_HEADER
from jobkeeper.http.routing import API_V1, Operation, Reply, Route, create, errors, get
from jobkeeper.http.v1.audit import AuditHead, AuditViews, JobHistoryCsv, JobVerify
from jobkeeper.http.v1.commands import JobCommand
from jobkeeper.http.v1.history import NDJSON, JobHistory, JobHistoryDownload
from jobkeeper.http.v1.jobs import JobCollection, JobItem, JobPhaseCollection
from jobkeeper.http.v1.kinds import KindCollection
from jobkeeper.http.v1.logs import JobLogs, LogCollection
from jobkeeper.http.v1.models import (
    HistoryQuery,
    JobListQuery,
    JobStreamQuery,
    JobSubmission,
    JobVersionQuery,
    LogQuery,
    TokenRequest,
    UserCreation,
    UserJobsQuery,
    UserListQuery,
)
from jobkeeper.http.v1.responses import (
    AnchorsOut,
    ChainReportOut,
    HistoryPageOut,
    JobList,
    JobOut,
    JobPage,
    KindList,
    LogPage,
    NewTokenOut,
    NewUserOut,
    TokenList,
    TokenOut,
    UserOut,
    UserPage,
    ViewsCheckOut,
)
from jobkeeper.http.v1.stream import JobListStream, JobStream
from jobkeeper.http.v1.tokens import TokenCollection, TokenItem
from jobkeeper.http.v1.users import UserCollection, UserItem, UserJobs

API = API_V1
JOB = f"{API}/jobs/{{job_id}}"
USER = f"{API}/users/{{name}}"
COMMANDED = {
    CHANGED_HEADER: "false when the command was already in effect (nothing recorded)",
    POSITION_HEADER: "pass as `position` to lists",
    REPLAYED_HEADER: "true when this is the answer recorded for the Idempotency-Key",
}
SUMMARIES = {
    "stop": "Stop the job (pause, keeping its progress)",
    "resume": "Resume a stopped job from its last checkpoint",
    "cancel": "Cancel the job",
    "restart": "Restart the job from scratch, as a new attempt",
}


def job_command(name: str) -> Route:
    """POST /jobs/{id}/<name>."""
    replies = {200: Reply("The job, changed or already so", JobOut, headers=COMMANDED)}
    return Route(
        f"{JOB}/{name}",
        lambda w: JobCommand(w.service, name),
        (
            Operation(
                "POST",
                SUMMARIES[name],
                replies | errors(400, 403, 404, 409, 422),
                headers=IDEMPOTENCY_HEADERS,
            ),
        ),
        "jobs",
    )


JOB_ROUTES = [
    Route(
        f"{API}/jobs",
        lambda w: JobCollection(w.service, w.max_body),
        (
            get("List jobs, newest first", JobPage, 400, query=JobListQuery),
            create(
                "Submit a job",
                JobSubmission,
                JobOut,
                headers=IDEMPOTENCY_HEADERS,
                more_errors=(422,),
                reply_headers={REPLAYED_HEADER: COMMANDED[REPLAYED_HEADER]},
            ),
        ),
        "jobs",
    ),
    Route(
        f"{API}/jobs/stream",
        lambda w: JobListStream(w.service, w.feed, slots=w.slots, max_seconds=w.stream_seconds),
        (
            Operation(
                "GET",
                "Changes of the jobs a filter of GET /jobs selects, as server-sent events",
                {
                    200: Reply(
                        "Event `job` (a job, as an item of GET /jobs, whose row changed or is "
                        "new and matches the filters), `leave` (a job whose status no longer "
                        "matches), `reset` (too much was missed to replay: load the list "
                        "again); each `data` is JSON, each `id` a position in the event log",
                        media=("text/event-stream",),
                    ),
                    **errors(400, 429),
                },
                query=JobStreamQuery,
                headers={"Last-Event-ID": "continue after this event id (a log position)"},
                description="Starts from now; with Last-Event-ID, first sends every job that "
                "changed since (its latest row, in the order of its last change). Idle "
                "streams get a keep-alive comment every 10 s that also moves the event id on. "
                "Each user may hold a limited number of streams open at once (429 beyond).",
            ),
        ),
        "jobs",
    ),
    Route(
        f"{API}/jobs/running",
        lambda w: JobPhaseCollection(w.service, "running"),
        (
            get(
                "Running jobs (queued, running, stopping, cancelling)",
                JobPage,
                400,
                query=JobListQuery,
            ),
        ),
        "jobs",
    ),
    Route(
        f"{API}/jobs/finished",
        lambda w: JobPhaseCollection(w.service, "finished"),
        (get("Finished jobs (succeeded, failed, cancelled)", JobPage, 400, query=JobListQuery),),
        "jobs",
    ),
    Route(
        JOB,
        lambda w: JobItem(w.service),
        (
            get(
                "A job, now or as it was after event `version`",
                JobOut,
                400,
                404,
                query=JobVersionQuery,
            ),
        ),
        "jobs",
    ),
    *(job_command(name) for name in COMMANDS),
    Route(
        f"{JOB}/logs",
        lambda w: JobLogs(w.service),
        (get("The job's log lines, oldest first", LogPage, 400, 404, query=LogQuery),),
        "logs",
    ),
    Route(
        f"{JOB}/history",
        lambda w: JobHistory(w.service),
        (
            get(
                "A page of the job's events, oldest or newest first",
                HistoryPageOut,
                400,
                404,
                query=HistoryQuery,
                description="Follow `next_after` until it is null. With `type`, a page may "
                "hold fewer events than `limit` (even none) and still name a next page: a "
                "page reads at most 20,000 events of a long history. An unknown type, or "
                "any other value out of range, answers 400 naming what is allowed.",
            ),
        ),
        "jobs",
    ),
    Route(
        f"{JOB}/history.ndjson",
        lambda w: JobHistoryDownload(w.service),
        (
            Operation(
                "GET",
                "Every event of the job, oldest first, as one streamed download",
                {
                    200: Reply(
                        "One JSON object per line, each a history entry "
                        "(version, type, at, by, data, hash)",
                        media=(NDJSON,),
                    ),
                    **errors(404),
                },
                description="Streamed as it is read from the store, a thousand events at a "
                "time: the whole history of a long job without holding it in memory.",
            ),
        ),
        "jobs",
    ),
    Route(
        f"{JOB}/stream",
        lambda w: JobStream(w.service, max_seconds=w.stream_seconds, feed=w.feed, slots=w.slots),
        (
            Operation(
                "GET",
                "The job as server-sent events until it finishes",
                {
                    200: Reply(
                        "Events `status`, `progress` and `log`; each `data` is JSON",
                        media=("text/event-stream",),
                    ),
                    **errors(400, 404, 429),
                },
                headers={"Last-Event-ID": "continue after this event id (a job version)"},
                description="The server may end a stream early; reconnect with Last-Event-ID. "
                "Each user may hold a limited number of streams open at once (429 beyond).",
            ),
        ),
        "jobs",
    ),
    Route(
        f"{API}/logs",
        lambda w: LogCollection(w.service),
        (get("Every job's log lines, oldest first", LogPage, 400, query=LogQuery),),
        "logs",
    ),
    Route(
        f"{API}/kinds",
        lambda w: KindCollection(w.service),
        (get("The registered kinds with their params schemas", KindList),),
        "jobs",
    ),
]
ISSUED = {
    "Location": "where the token can be read and revoked",
    POSITION_HEADER: "pass as `position` to lists",
}
REVOKED = {POSITION_HEADER: "pass as `position` to lists"}
USER_ROUTES = [
    Route(
        f"{API}/users",
        lambda w: UserCollection(w.service, w.max_body),
        (
            get("List users in creation order", UserPage, 400, query=UserListQuery),
            create(
                "Create a user, with a first token",
                UserCreation,
                NewUserOut,
                description="Admins only. The answer carries the user's first token: it is "
                "shown this once.",
            ),
        ),
        "users",
    ),
    Route(USER, lambda w: UserItem(w.service), (get("A user", UserOut, 404),), "users"),
    Route(
        f"{USER}/jobs",
        lambda w: UserJobs(w.service),
        (get("The user's latest jobs, newest first", JobList, 400, 404, query=UserJobsQuery),),
        "users",
    ),
    Route(
        f"{USER}/tokens",
        lambda w: TokenCollection(w.service, w.max_body),
        (
            get("The user's tokens (never their secrets)", TokenList, 403, 404),
            Operation(
                "POST",
                "Issue a token for the user",
                {201: Reply("The token, shown this once", NewTokenOut, headers=ISSUED)}
                | errors(400, 403, 404, 413, 415),
                body=TokenRequest,
                body_required=False,
                description="The user themself or an admin. The body may be left out.",
            ),
        ),
        "users",
    ),
    Route(
        f"{USER}/tokens/{{token_id}}",
        lambda w: TokenItem(w.service),
        (
            get("One of the user's tokens (never its secret)", TokenOut, 403, 404),
            Operation(
                "DELETE",
                "Revoke the token: it answers 401 from now on",
                {204: Reply("Revoked", media=(), headers=REVOKED)} | errors(403, 404),
                description="The user themself or an admin.",
            ),
        ),
        "users",
    ),
]
AUDIT_ROUTES = [
    Route(
        f"{JOB}/verify",
        lambda w: JobVerify(w.service),
        (
            get(
                "The job's hash chain recomputed: intact, or its first broken link",
                ChainReportOut,
                404,
                description="Reads the stored rows themselves: a row changed, removed or "
                "moved in the database is named by its version. A chain rewritten whole "
                "is caught only against a head kept earlier (`jobkeeper audit verify "
                "--against`).",
            ),
        ),
        "audit",
    ),
    Route(
        f"{JOB}/history.csv",
        lambda w: JobHistoryCsv(w.service),
        (
            Operation(
                "GET",
                "Every event of the job, oldest first, as a streamed CSV download",
                {
                    200: Reply(
                        "A header row, then version, type, at, by, hash and data (JSON) "
                        "of each event",
                        media=("text/csv",),
                    ),
                    **errors(404),
                },
            ),
        ),
        "audit",
    ),
    Route(
        f"{API}/audit/head",
        lambda w: AuditHead(w.service),
        (
            get(
                "The head of every hash chain and a digest over them all (admins only)",
                AnchorsOut,
                403,
                description="Keep a copy elsewhere: `jobkeeper audit verify --against FILE` "
                "finds any chain rewritten since. With JOBKEEPER_AUDIT_KEY set, the digest "
                "is signed (HMAC-SHA256).",
            ),
        ),
        "audit",
    ),
    Route(
        f"{API}/audit/views",
        lambda w: AuditViews(w.service),
        (
            get(
                "Every view row compared with a replay of the log (admins only)",
                ViewsCheckOut,
                403,
                description="Replays the whole log into a scratch store: it takes as long "
                "as a rebuild of the views. The rows compared are counted in /metrics "
                "(`jobkeeper_view_rows_verified_total`).",
            ),
        ),
        "audit",
    ),
]
V1_ROUTES = [*JOB_ROUTES, *USER_ROUTES, *AUDIT_ROUTES]
