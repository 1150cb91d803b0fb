"""A job's history: its recorded events, for audit, in pages or as one streamed download."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import falcon

from jobkeeper.application.history import HistoryEntry
from jobkeeper.http.media import to_json
from jobkeeper.http.port import Service
from jobkeeper.http.v1.models import HistoryQuery
from jobkeeper.http.v1.representation import history_entry
from jobkeeper.http.validation import read_query

NDJSON = "application/x-ndjson"


class JobHistory:
    """GET /jobs/{id}/history: a page of the job's events, oldest or newest first."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """The page after `after`: version, type, at, by, data of each event."""
        query = read_query(req, HistoryQuery, repeatable=("type",))
        page = self.service.app.history_page(
            job_id,
            after=query.after,
            limit=query.limit,
            types=frozenset(query.type),
            descending=query.order == "desc",
        )
        resp.media = {
            "items": [history_entry(entry) for entry in page.items],
            "next_after": page.next_after,
        }


class JobHistoryDownload:
    """GET /jobs/{id}/history.ndjson: every event of the job, one JSON object per line."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """The whole history, oldest first, streamed as it is read from the store."""
        entries = self.service.app.history_stream(job_id)  # 404 here, before streaming
        resp.content_type = NDJSON
        resp.stream = _lines(entries)


def _lines(entries: Iterable[HistoryEntry]) -> Iterator[bytes]:
    for entry in entries:
        yield to_json(history_entry(entry)) + b"\n"
