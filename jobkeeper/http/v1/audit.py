"""Audit: the anchors of the hash chains, a job's chain checked, the views checked against
the log, and a job's history as CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import falcon

from jobkeeper.application.audit import Break, ChainReport
from jobkeeper.application.history import HistoryEntry
from jobkeeper.http.auth import caller
from jobkeeper.http.port import Service
from jobkeeper.http.v1.representation import history_entry

CSV = "text/csv; charset=utf-8"
CSV_COLUMNS = ("version", "type", "at", "by", "hash", "data")


def _admin_only(service: Service, req: falcon.Request, what: str) -> None:
    if not service.app.is_admin(caller(req)):
        raise falcon.HTTPForbidden(title="Forbidden", description=f"{what} are for admins")


class AuditHead:
    """GET /audit/head: the head of every chain and a digest over them (admins only)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The anchors to keep elsewhere; `jobkeeper audit verify --against` reads them back."""
        _admin_only(self.service, req, "the audit's anchors")
        resp.media = self.service.audit.anchors().as_json()


class JobVerify:
    """GET /jobs/{id}/verify: the job's hash chain recomputed."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Intact, or the first broken link: which version and what differs."""
        resp.media = chain_report(self.service.audit.verify_job(job_id))


def chain_report(report: ChainReport) -> dict[str, Any]:
    """A chain's check as the API and the CLI give it."""
    head = report.head
    return {
        "stream": report.stream,
        "intact": report.broken is None,
        "events": report.events,
        "unhashed": report.unhashed,
        "hashed_from": report.hashed_from,
        "head": None if head is None else {"version": head.version, "hash": head.hash},
        "broken": None if report.broken is None else broken_link(report.broken),
    }


def broken_link(broken: Break) -> dict[str, Any]:
    """One broken link: where, what, and the two hashes that differ (when there are)."""
    return {
        "stream": broken.stream,
        "version": broken.version,
        "problem": broken.problem,
        "recorded": broken.recorded,
        "computed": broken.computed,
    }


class AuditViews:
    """GET /audit/views: every view row compared with a replay of its stream (admins only)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Whether every row matches, how many were compared, and each difference."""
        _admin_only(self.service, req, "checks of the views")
        found = self.service.verify_views()
        rows: dict[str, dict[str, int]] = {}
        for (table, outcome), count in sorted(found.compared.items()):
            rows.setdefault(table, {})[outcome] = count
        resp.media = {
            "intact": found.intact,
            "rows": rows,
            "differences": [str(d) for d in found.differences],
        }


class JobHistoryCsv:
    """GET /jobs/{id}/history.csv: every event of the job as CSV rows, streamed."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Version, type, at, by, hash, and the event's data as JSON, oldest first."""
        entries = self.service.app.history_stream(job_id)  # 404 here, before streaming
        resp.content_type = CSV
        resp.downloadable_as = f"job-{job_id}-history.csv"
        resp.stream = _csv_rows(entries)


def _csv_rows(entries: Iterable[HistoryEntry]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = history_entry(entry)
        data = json.dumps(row["data"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        link = row["hash"] or ""
        writer.writerow((row["version"], row["type"], row["at"], row["by"], link, data))
        if buffer.tell() > 64_000:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
