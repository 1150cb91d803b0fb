"""A stand-in for `jobkeeper.http.app.create_app`, used by the e2e tests until the real one exists.

Run as a script it is `jobkeeper` with this app plugged into the server:
`python tests/e2e/standin_app.py serve --port ...`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import falcon

TERMINAL = {"succeeded", "failed", "cancelled"}
BY = "admin"


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return str(value)


def _dump(value: Any) -> str:
    return json.dumps(value, default=_json)


def _job(job: Any) -> dict[str, Any]:
    return {
        "id": job.number, "owner": job.owner, "kind": job.kind, "name": job.name,
        "params": job.params, "status": job.status.value, "progress": job.progress,
        "attempt": job.attempt, "checkpoint": job.checkpoint, "result": job.result,
        "error": job.error, "version": job.version,
    }  # fmt: skip


def _rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": json.loads(_dump(rows)), "next_cursor": None}


class StandIn:
    def __init__(self, service: Any) -> None:
        self.service = service

    def job_or_404(self, job_id: int) -> Any:
        try:
            return self.service.app.get_job(job_id)
        except Exception:
            raise falcon.HTTPNotFound(title="no such job") from None

    def on_get_healthz(self, req: Any, resp: Any) -> None:
        resp.media = {"status": "ok"}

    def on_post_jobs(self, req: Any, resp: Any) -> None:
        body = req.get_media()
        outcome = self.service.submit(
            kind=body["kind"], params=body.get("params", {}), name=body.get("name"),
            owner=BY, by=BY,
        )  # fmt: skip
        resp.status = falcon.HTTP_201
        resp.location = f"/api/v1/jobs/{outcome.job.number}"
        resp.media = _job(outcome.job)

    def on_get_jobs(self, req: Any, resp: Any) -> None:
        self.service.read.wait(self.service.app.position(), 2.0)
        resp.text = _dump(_rows(self.service.read.jobs(limit=50)))

    def on_get_running(self, req: Any, resp: Any) -> None:
        self.service.read.wait(self.service.app.position(), 2.0)
        resp.text = _dump(_rows(self.service.read.jobs(status="running", limit=50)))

    def on_get_finished(self, req: Any, resp: Any) -> None:
        self.service.read.wait(self.service.app.position(), 2.0)
        resp.text = _dump(_rows(self.service.read.jobs(phase="finished", limit=50)))

    def on_get_user_jobs(self, req: Any, resp: Any, name: str) -> None:
        self.service.read.wait(self.service.app.position(), 2.0)
        resp.text = _dump(_rows(self.service.read.jobs(owner=name, limit=10)))

    def on_get_job(self, req: Any, resp: Any, job_id: int) -> None:
        resp.media = _job(self.job_or_404(job_id))

    def on_post_command(self, req: Any, resp: Any, job_id: int, command: str) -> None:
        self.job_or_404(job_id)
        target = self.service if command in ("resume", "restart") else self.service.app
        outcome = getattr(target, command)(job_id, BY)
        resp.media = _job(outcome.job)

    def on_get_logs(self, req: Any, resp: Any, job_id: int) -> None:
        self.job_or_404(job_id)
        self.service.read.wait(self.service.app.position(), 2.0)
        resp.text = _dump({"items": self.service.read.logs(job_id, limit=1000)})

    def on_get_history(self, req: Any, resp: Any, job_id: int) -> None:
        entries = self.service.app.history(job_id)
        resp.text = _dump({"items": [e.__dict__ for e in entries]})

    def on_get_stream(self, req: Any, resp: Any, job_id: int) -> None:
        self.job_or_404(job_id)
        resp.content_type = "text/event-stream"
        resp.stream = self._events(job_id)

    def _events(self, job_id: int) -> Iterator[bytes]:
        last: tuple[str, float] | None = None
        while True:
            job = _job(self.service.app.get_job(job_id))
            if last is None or last[0] != job["status"]:
                yield f"event: status\ndata: {_dump(job)}\n\n".encode()
            elif last[1] != job["progress"]:
                yield f"event: progress\ndata: {_dump(job)}\n\n".encode()
            last = (job["status"], job["progress"])
            if job["status"] in TERMINAL:
                return
            time.sleep(0.1)


def create_app(service: Any, *, max_body: int) -> falcon.App:
    app = falcon.App()
    resource = StandIn(service)
    app.add_route("/healthz", resource, suffix="healthz")
    app.add_route("/api/v1/jobs", resource, suffix="jobs")
    app.add_route("/api/v1/jobs/running", resource, suffix="running")
    app.add_route("/api/v1/jobs/finished", resource, suffix="finished")
    app.add_route("/api/v1/users/{name}/jobs", resource, suffix="user_jobs")
    app.add_route("/api/v1/jobs/{job_id:int}", resource, suffix="job")
    app.add_route("/api/v1/jobs/{job_id:int}/{command}", resource, suffix="command")
    app.add_route("/api/v1/jobs/{job_id:int}/logs", resource, suffix="logs")
    app.add_route("/api/v1/jobs/{job_id:int}/history", resource, suffix="history")
    app.add_route("/api/v1/jobs/{job_id:int}/stream", resource, suffix="stream")
    return app


if __name__ == "__main__":
    from jobkeeper import cli, server

    server.create_app = lambda runtime, settings: create_app(runtime, max_body=settings.max_body)
    sys.exit(cli.main())
