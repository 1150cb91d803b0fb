"""The route table of the seed's paths under /api/ (deprecated aliases of the v1 API).

Trailing slashes are optional, as everywhere. Bodies may be JSON or forms. Lists are JSON
arrays, as the seed's were, `limit` items at a time with a `Link` header (rel=next) when
more follow. The four command paths answer a one-element array, as the seed did.
"""

from __future__ import annotations

from typing import Any

from jobkeeper.http.commands import commands
from jobkeeper.http.consistency import CHANGED_HEADER
from jobkeeper.http.routes import Operation, Reply, Route, create, errors
from jobkeeper.http.seed_commands import COMMAND_OF_STATUS, SeedJobCommand, SeedJobDetail
from jobkeeper.http.seed_jobs import SeedJobCreate, SeedJobList, SeedUserJobs
from jobkeeper.http.seed_models import (
    SeedAfterQuery,
    SeedJob,
    SeedJobCreation,
    SeedJobUpdate,
    SeedLastJobsQuery,
    SeedLogLine,
    SeedPageQuery,
    SeedUser,
    SeedUserCreation,
)
from jobkeeper.http.seed_users import SeedLogs, SeedUserList

V1 = "/api/v1"
PAGED = {"Link": 'the next page, as <url>; rel="next", when more items follow'}
COMMANDED = {CHANGED_HEADER: "false when the command was already in effect"}
JOBS = list[SeedJob]


def seed_get(
    summary: str, body: Any, replaced_by: str, *codes: int, paged: bool = False, **extra: Any
) -> Operation:
    """A deprecated GET answering `body` (200, with a `Link` header if `paged`) or errors."""
    replies = {200: Reply("OK", body, headers=PAGED if paged else {}), **errors(*codes)}
    return Operation("GET", summary, replies, replaced_by=replaced_by, **extra)


def job_list(path: str, phase: str | None, summary: str, replaced_by: str) -> Route:
    """A seed path listing the jobs of `phase` (all jobs for None)."""
    operation = seed_get(summary, JOBS, replaced_by, 400, paged=True, query=SeedPageQuery)
    return Route(path, lambda w: SeedJobList(w.service, phase), (operation,), "seed")


def command(path: str, name: str) -> Route:
    """A seed path that carries out a command by GET."""
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
    return Route(path, lambda w: SeedJobCommand(commands(w.service)[name]), (operation,), "seed")


UPDATES = ", ".join(f"{word} {verb}s the job" for word, verb in COMMAND_OF_STATUS.items())
SEED_ROUTES = [
    job_list("/api/getjobs", None, "All jobs, newest first", f"GET {V1}/jobs"),
    Route(
        "/api/createjob",
        lambda w: SeedJobCreate(w.service, w.max_body),
        (
            create(
                "Create and start a job of one of the seed's types",
                SeedJobCreation,
                SeedJob,
                forms=True,
                replaced_by=f"POST {V1}/jobs",
                description="It runs for end_time - start_time seconds; end before start is a "
                "400. `user` must be the caller, unless the caller is an admin (403).",
            ),
        ),
        "seed",
    ),
    command("/api/canceljob/{job_id}", "cancel"),
    command("/api/stopjob/{job_id}", "stop"),
    command("/api/resumejob/{job_id}", "resume"),
    command("/api/restartjob/{job_id}", "restart"),
    command("/api/restart/{job_id}", "restart"),
    job_list("/api/runningjobs", "active", "Running jobs, newest first", f"GET {V1}/jobs/running"),
    job_list("/api/getfinishedjobs", "finished", "Finished jobs", f"GET {V1}/jobs/finished"),
    job_list(
        "/api/getfinishedhjobs",
        "finished",
        "Finished jobs (the seed's misspelt path)",
        f"GET {V1}/jobs/finished",
    ),
    Route(
        "/api/lastjobs/{user_name}",
        lambda w: SeedUserJobs(w.service),
        (
            seed_get(
                "The user's last ten jobs, newest first",
                JOBS,
                f"GET {V1}/users/{{name}}/jobs",
                400,
                404,
                query=SeedLastJobsQuery,
            ),
        ),
        "seed",
    ),
    Route(
        "/api/getdetailedjob/{job_id}",
        lambda w: SeedJobDetail(w.service, commands(w.service), w.max_body),
        (
            seed_get("One job", SeedJob, f"GET {V1}/jobs/{{job_id}}", 404),
            Operation(
                "PUT",
                "Move the job to a status word",
                {
                    200: Reply("The job, changed or already so", SeedJob, headers=COMMANDED),
                    **errors(400, 403, 404, 409, 413, 415),
                },
                body=SeedJobUpdate,
                forms=True,
                replaced_by=f"POST {V1}/jobs/{{job_id}}/<command>",
                description=f"{UPDATES}; any other status is a 400.",
            ),
        ),
        "seed",
    ),
    Route(
        "/api/getlogs/{job_id}",
        lambda w: SeedLogs(w.service),
        (
            seed_get(
                "The job's log lines [{text, created}], oldest first",
                list[SeedLogLine],
                f"GET {V1}/jobs/{{job_id}}/logs",
                400,
                404,
                paged=True,
                query=SeedAfterQuery,
            ),
        ),
        "seed",
    ),
    Route(
        "/api/getalllogs",
        lambda w: SeedLogs(w.service),
        (
            seed_get(
                "Every log line, oldest first",
                list[SeedLogLine],
                f"GET {V1}/logs",
                400,
                paged=True,
                query=SeedAfterQuery,
            ),
        ),
        "seed",
    ),
    Route(
        "/api/userlist",
        lambda w: SeedUserList(w.service, w.max_body),
        (
            seed_get(
                "The users (id, name, surname, title)",
                list[SeedUser],
                f"GET {V1}/users",
                400,
                paged=True,
                query=SeedAfterQuery,
            ),
            create(
                "Create a user",
                SeedUserCreation,
                SeedUser,
                forms=True,
                replaced_by=f"POST {V1}/users",
            ),
        ),
        "seed",
    ),
]
