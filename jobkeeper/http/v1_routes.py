"""The route table of the v1 API: jobs, their commands, logs and history, kinds; and users."""

from __future__ import annotations

from jobkeeper.domain.lifecycle import COMMANDS
from jobkeeper.http.commands import JobCommand, commands
from jobkeeper.http.consistency import CHANGED_HEADER, POSITION_HEADER
from jobkeeper.http.jobs import JobCollection, JobHistory, JobItem, JobPhaseCollection
from jobkeeper.http.kinds import KindCollection
from jobkeeper.http.logs import JobLogs, LogCollection
from jobkeeper.http.models import (
    JobListQuery,
    JobPageQuery,
    JobSubmission,
    JobVersionQuery,
    LogQuery,
)
from jobkeeper.http.responses import (
    HistoryOut,
    JobOut,
    JobPage,
    KindList,
    LogPage,
)
from jobkeeper.http.routes import Operation, Reply, Route, create, errors, get
from jobkeeper.http.stream import JobStream
from jobkeeper.http.user_routes import USER_ROUTES

API = "/api/v1"
JOB = f"{API}/jobs/{{job_id}}"
COMMANDED = {
    CHANGED_HEADER: "false when the command was already in effect (nothing recorded)",
    POSITION_HEADER: "pass as `position` to lists",
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
        lambda w: JobCommand(commands(w.service)[name]),
        (Operation("POST", SUMMARIES[name], replies | errors(403, 404, 409)),),
        "jobs",
    )


JOB_ROUTES = [
    Route(
        f"{API}/jobs",
        lambda w: JobCollection(w.service, w.max_body),
        (
            get("List jobs, newest first", JobPage, 400, query=JobListQuery),
            create("Submit a job", JobSubmission, JobOut),
        ),
        "jobs",
    ),
    Route(
        f"{API}/jobs/running",
        lambda w: JobPhaseCollection(w.service, "active"),
        (
            get(
                "Running jobs (queued, running, stopping, cancelling)",
                JobPage,
                400,
                query=JobPageQuery,
            ),
        ),
        "jobs",
    ),
    Route(
        f"{API}/jobs/finished",
        lambda w: JobPhaseCollection(w.service, "finished"),
        (get("Finished jobs (succeeded, failed, cancelled)", JobPage, 400, query=JobPageQuery),),
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
        (get("Every event of the job, oldest first", HistoryOut, 404),),
        "jobs",
    ),
    Route(
        f"{JOB}/stream",
        lambda w: JobStream(w.service, max_seconds=w.stream_seconds),
        (
            Operation(
                "GET",
                "The job as server-sent events until it finishes",
                {
                    200: Reply(
                        "Events `status`, `progress` and `log`; each `data` is JSON",
                        media=("text/event-stream",),
                    ),
                    **errors(400, 404),
                },
                headers={"Last-Event-ID": "continue after this event id (a job version)"},
                description="The server may end a stream early; reconnect with Last-Event-ID.",
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
V1_ROUTES = [*JOB_ROUTES, *USER_ROUTES]
