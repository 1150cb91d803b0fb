"""The route table of the older service's paths under /api/ (deprecated aliases of the v1 API).

Trailing slashes are optional, as everywhere. Bodies may be JSON or forms. Lists are JSON
arrays, as the older service's were, `limit` items at a time with a `Link` header (rel=next) when
more follow. The four command paths answer a one-element array, as the older service did.
"""

from __future__ import annotations

from typing import Any

from jobkeeper.http.consistency import CHANGED_HEADER
from jobkeeper.http.legacy.commands import COMMAND_OF_STATUS, LegacyJobCommand, LegacyJobDetail
from jobkeeper.http.legacy.jobs import LegacyJobCreate, LegacyJobList, LegacyUserJobs
from jobkeeper.http.legacy.models import (
    LegacyAfterQuery,
    LegacyJob,
    LegacyJobCreation,
    LegacyJobUpdate,
    LegacyLastJobsQuery,
    LegacyLogLine,
    LegacyPageQuery,
    LegacyUser,
    LegacyUserCreation,
)
from jobkeeper.http.legacy.users import LegacyLogs, LegacyUserList
from jobkeeper.http.routing import API_V1, Operation, Reply, Route, create, errors

V1 = API_V1
PAGED = {"Link": 'the next page, as <url>; rel="next", when more items follow'}
COMMANDED = {CHANGED_HEADER: "false when the command was already in effect"}
JOBS = list[LegacyJob]


def legacy_get(
    summary: str, body: Any, replaced_by: str, *codes: int, paged: bool = False, **extra: Any
) -> Operation:
    """A deprecated GET answering `body` (200, with a `Link` header if `paged`) or errors."""
    replies = {200: Reply("OK", body, headers=PAGED if paged else {}), **errors(*codes)}
    return Operation("GET", summary, replies, replaced_by=replaced_by, **extra)


def job_list(path: str, phase: str | None, summary: str, replaced_by: str) -> Route:
    """A legacy path listing the jobs of `phase` (all jobs for None)."""
    operation = legacy_get(summary, JOBS, replaced_by, 400, paged=True, query=LegacyPageQuery)
    return Route(path, lambda w: LegacyJobList(w.service, phase), (operation,), "legacy")


def command(path: str, name: str) -> Route:
    """A legacy path that carries out a command by GET."""
    operation = Operation(
        "GET",
        f"{name.capitalize()} the job",
        {
            200: Reply("A one-element array with the job", JOBS, headers=COMMANDED),
            **errors(403, 404, 409),
        },
        replaced_by=f"POST {V1}/jobs/{{job_id}}/{name}",
        writes=True,
    )
    return Route(path, lambda w: LegacyJobCommand(w.service, name), (operation,), "legacy")


UPDATES = ", ".join(f"{word} {verb}s the job" for word, verb in COMMAND_OF_STATUS.items())
LEGACY_ROUTES = [
    job_list("/api/getjobs", None, "All jobs, newest first", f"GET {V1}/jobs"),
    Route(
        "/api/createjob",
        lambda w: LegacyJobCreate(w.service, w.max_body),
        (
            create(
                "Create and start a job of one of the older service's types",
                LegacyJobCreation,
                LegacyJob,
                forms=True,
                replaced_by=f"POST {V1}/jobs",
                description="It runs for end_time - start_time seconds; end before start is a "
                "400. `user` must be the caller, unless the caller is an admin (403).",
            ),
        ),
        "legacy",
    ),
    command("/api/canceljob/{job_id}", "cancel"),
    command("/api/stopjob/{job_id}", "stop"),
    command("/api/resumejob/{job_id}", "resume"),
    command("/api/restartjob/{job_id}", "restart"),
    command("/api/restart/{job_id}", "restart"),
    job_list("/api/runningjobs", "running", "Running jobs, newest first", f"GET {V1}/jobs/running"),
    job_list("/api/getfinishedjobs", "finished", "Finished jobs", f"GET {V1}/jobs/finished"),
    job_list(
        "/api/getfinishedhjobs",
        "finished",
        "Finished jobs (the older service's misspelt path)",
        f"GET {V1}/jobs/finished",
    ),
    Route(
        "/api/lastjobs/{user_name}",
        lambda w: LegacyUserJobs(w.service),
        (
            legacy_get(
                "The user's last ten jobs, newest first",
                JOBS,
                f"GET {V1}/users/{{name}}/jobs",
                400,
                404,
                query=LegacyLastJobsQuery,
            ),
        ),
        "legacy",
    ),
    Route(
        "/api/getdetailedjob/{job_id}",
        lambda w: LegacyJobDetail(w.service, w.max_body),
        (
            legacy_get("One job", LegacyJob, f"GET {V1}/jobs/{{job_id}}", 404),
            Operation(
                "PUT",
                "Move the job to a status word",
                {
                    200: Reply("The job, changed or already so", LegacyJob, headers=COMMANDED),
                    **errors(400, 403, 404, 409, 413, 415),
                },
                body=LegacyJobUpdate,
                forms=True,
                replaced_by=f"POST {V1}/jobs/{{job_id}}/<command>",
                description=f"{UPDATES}; any other status is a 400.",
            ),
        ),
        "legacy",
    ),
    Route(
        "/api/getlogs/{job_id}",
        lambda w: LegacyLogs(w.service),
        (
            legacy_get(
                "The job's log lines [{text, created}], oldest first",
                list[LegacyLogLine],
                f"GET {V1}/jobs/{{job_id}}/logs",
                400,
                404,
                paged=True,
                query=LegacyAfterQuery,
            ),
        ),
        "legacy",
    ),
    Route(
        "/api/getalllogs",
        lambda w: LegacyLogs(w.service),
        (
            legacy_get(
                "Every log line, oldest first",
                list[LegacyLogLine],
                f"GET {V1}/logs",
                400,
                paged=True,
                query=LegacyAfterQuery,
            ),
        ),
        "legacy",
    ),
    Route(
        "/api/userlist",
        lambda w: LegacyUserList(w.service, w.max_body),
        (
            legacy_get(
                "The users (id, name, surname, title)",
                list[LegacyUser],
                f"GET {V1}/users",
                400,
                paged=True,
                query=LegacyAfterQuery,
            ),
            create(
                "Create a user",
                LegacyUserCreation,
                LegacyUser,
                forms=True,
                replaced_by=f"POST {V1}/users",
            ),
        ),
        "legacy",
    ),
]
