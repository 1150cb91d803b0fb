"""Jobs: submit and list them, and read one (now or at a past version)."""

from __future__ import annotations

import falcon

from jobkeeper.http.auth import caller
from jobkeeper.http.consistency import await_position, tell_position
from jobkeeper.http.idempotency import keyed_request, tell_replayed
from jobkeeper.http.paging import decode_cursor, encode_cursor, split_page
from jobkeeper.http.port import Service
from jobkeeper.http.routing import API_V1
from jobkeeper.http.v1.models import (
    JobListQuery,
    JobSubmission,
    JobVersionQuery,
)
from jobkeeper.http.v1.representation import JOB_FIELDS, job_from_aggregate, job_from_stored
from jobkeeper.http.validation import read_body, read_query

JOBS_PATH = f"{API_V1}/jobs"
ID = JOB_FIELDS.index("id")
VERSION = JOB_FIELDS.index("version")


class JobCollection:
    """GET /jobs lists jobs newest first; POST /jobs submits one."""

    def __init__(self, service: Service, max_body: int) -> None:
        self.service, self.max_body = service, max_body

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """A page of jobs, filtered by status, owner, kind and text in the name."""
        resp.media = job_page(self.service, read_query(req, JobListQuery))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Submit a job; it belongs to `owner`, or to the caller."""
        body = read_body(req, JobSubmission, self.max_body)
        by = caller(req)
        owner = by if body.owner is None else body.owner
        outcome = self.service.app.submit(
            kind=body.kind,
            params=body.params,
            owner=owner,
            by=by,
            name=body.name,
            not_before=body.not_before,
            deadline=body.deadline,
            keyed=keyed_request(req, body),
        )
        resp.status = falcon.HTTP_201
        tell_replayed(resp, outcome)
        resp.location = f"{JOBS_PATH}/{outcome.job.number}"
        tell_position(resp, outcome.position)
        resp.media = job_from_aggregate(outcome.job)


class JobPhaseCollection:
    """GET /jobs/running and /jobs/finished: the jobs of one phase, newest first."""

    def __init__(self, service: Service, phase: str) -> None:
        self.service, self.phase = service, phase

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """A page of the phase's jobs, with the same filters as GET /jobs."""
        resp.media = job_page(self.service, read_query(req, JobListQuery), phase=self.phase)


def job_page(service: Service, query: JobListQuery, phase: str | None = None) -> dict[str, object]:
    """One page of jobs from the jobs view, with the cursor of the next page."""
    before = decode_cursor(query.cursor)
    await_position(service, query.position)
    statuses = None if query.status is None else sorted({s.value for s in query.status})
    rows = service.views.stored_jobs(
        JOB_FIELDS,
        status=statuses,
        owner=query.owner,
        kind=query.kind,
        text=query.q,
        phase=phase,
        before=before,
        limit=query.limit + 1,
    )
    page, more = split_page(rows, query.limit)
    return {
        "items": [job_from_stored(row) for row in page],
        "next_cursor": encode_cursor(page[-1][ID]) if more else None,
    }


class JobItem:
    """GET /jobs/{id}: the job now, or after event `version`.

    Now: from the jobs view row when it holds the stream's latest version (two indexed
    reads, whatever the job's age or the store's size), else from its events (the cached
    job, or the nearest snapshot and the events after it). Then: from its events.
    """

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """The job as it is, or as it was."""
        query = read_query(req, JobVersionQuery)
        latest = self.service.app.latest_version(job_id)
        if latest is None:
            self.service.app.get_job(job_id, to_change=False)  # the domain's 404
        elif query.version is None or query.version == latest:
            row = self.service.views.stored_job(JOB_FIELDS, job_id)
            if row is not None and row[VERSION] == latest:
                resp.media = job_from_stored(row)
                return
        elif query.version > latest:
            raise falcon.HTTPNotFound(
                title="Version not found",
                description=f"job {job_id} has no version {query.version} yet; "
                f"its latest is {latest}",
            )
        job = self.service.app.get_job(job_id, version=query.version, to_change=False)
        resp.media = job_from_aggregate(job)
