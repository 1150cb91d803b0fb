"""Log lines: of one job, or of every job, oldest first."""

from __future__ import annotations

import falcon

from jobkeeper.http.consistency import await_position
from jobkeeper.http.paging import split_page
from jobkeeper.http.port import Service
from jobkeeper.http.v1.models import LogQuery
from jobkeeper.http.v1.representation import log_line
from jobkeeper.http.validation import read_query


class LogCollection:
    """GET /logs: every job's log lines, in the order they were recorded."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """A page of log lines after `after`."""
        resp.media = log_page(self.service, read_query(req, LogQuery), None)


class JobLogs:
    """GET /jobs/{id}/logs: one job's log lines."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """A page of the job's log lines after `after`; 404 for an unknown job."""
        query = read_query(req, LogQuery)
        page = log_page(self.service, query, job_id)
        if not page["items"]:  # lines belong to a job that exists; no lines: is there one?
            self.service.app.check_job_exists(job_id)
        resp.media = page


def log_page(service: Service, query: LogQuery, job_id: int | None) -> dict[str, object]:
    """One page of log lines, with the `after` of the next page."""
    await_position(service, query.position)
    rows = service.views.logs(job_id=job_id, after=query.after, limit=query.limit + 1)
    page, more = split_page(rows, query.limit)
    return {
        "items": [log_line(row) for row in page],
        "next_after": page[-1]["id"] if more else None,
    }
