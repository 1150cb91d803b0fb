"""The older service's job paths: create a job, list jobs, read one, and a user's last jobs."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import falcon

from jobkeeper.http.auth import caller
from jobkeeper.http.consistency import await_latest, tell_position
from jobkeeper.http.legacy.forms import read_form
from jobkeeper.http.legacy.models import LegacyJobCreation, LegacyLastJobsQuery, LegacyPageQuery
from jobkeeper.http.legacy.representation import STORED_FIELDS, legacy_job, legacy_job_from_stored
from jobkeeper.http.legacy.users import owner_name
from jobkeeper.http.media import to_json
from jobkeeper.http.memory import release_free_memory
from jobkeeper.http.paging import decode_cursor, encode_cursor, split_page
from jobkeeper.http.port import Service
from jobkeeper.http.v1.representation import job_from_aggregate, job_from_row
from jobkeeper.http.validation import read_query
from jobkeeper.kinds.legacy import LEGACY_TYPES

DETAIL_PATH = "/api/getdetailedjob"
CHUNK = 500
"""Rows a streamed legacy page reads at a time."""


class LegacyJobList:
    """GET /api/getjobs/, /api/runningjobs/, /api/getfinishedjobs/: an array, newest first.

    A page may hold 10,000 jobs: it is streamed, CHUNK rows read and written at a time, so
    a burst of large pages never holds all their rows as Python objects at once (memory
    that a process keeps once it has grown).
    """

    def __init__(self, service: Service, phase: str | None) -> None:
        self.service, self.phase = service, phase

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The jobs, `limit` at a time; a `Link` header (rel=next) points to the rest."""
        query = read_query(req, LegacyPageQuery)
        before = decode_cursor(query.cursor)
        await_latest(self.service)
        found = self.service.views.stored_jobs(
            ("id",), phase=self.phase, before=before, limit=query.limit + 1
        )
        ids, more = split_page([row[0] for row in found], query.limit)
        if more:
            params = {"limit": query.limit, "cursor": encode_cursor(ids[-1])}
            resp.append_link(f"{req.path}?{urlencode(params)}", "next")
        resp.content_type = falcon.MEDIA_JSON
        resp.stream = self._array(list(ids))

    def _array(self, ids: list[int]) -> Iterator[bytes]:
        """The jobs `ids` (newest first) as one JSON array, CHUNK rows at a time."""
        yield b"["
        for start in range(0, len(ids), CHUNK):
            newest, oldest = ids[start], ids[min(start + CHUNK, len(ids)) - 1]
            rows = self.service.views.stored_jobs(
                STORED_FIELDS, phase=self.phase, before=newest + 1, limit=CHUNK
            )
            jobs = [to_json(legacy_job_from_stored(row)) for row in rows if row[0] >= oldest]
            yield (b"," if start and jobs else b"") + b",".join(jobs)
        yield b"]"
        if len(ids) > CHUNK:
            release_free_memory()


class LegacyJobCreate:
    """POST /api/createjob/: create and start a job of one of the older service's five types."""

    def __init__(self, service: Service, max_body: int) -> None:
        self.service, self.max_body = service, max_body

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Submit the job; it runs for end_time - start_time seconds."""
        body = read_form(req, LegacyJobCreation, self.max_body)
        outcome = self.service.app.submit(
            kind=LEGACY_TYPES[body.job_type],
            params={
                "start_time": body.start_time.isoformat(),
                "end_time": body.end_time.isoformat(),
            },
            owner=owner_name(self.service, body.user),
            by=caller(req),
            name=body.job_name or body.job_type,
        )
        resp.status = falcon.HTTP_201
        resp.location = f"{DETAIL_PATH}/{outcome.job.number}"
        tell_position(resp, outcome.position)
        resp.media = legacy_job(job_from_aggregate(outcome.job))


class LegacyUserJobs:
    """GET /api/lastjobs/{user_name}: the user's last ten jobs, newest first."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_name: str) -> None:
        """The user's last `limit` jobs; 404 for an unknown user."""
        query = read_query(req, LegacyLastJobsQuery)
        self.service.app.check_user_exists(user_name)
        await_latest(self.service)
        rows = self.service.views.jobs(owner=user_name, limit=query.limit)
        resp.media = [legacy_job(job_from_row(row)) for row in rows]
