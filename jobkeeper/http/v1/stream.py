"""A job as server-sent events: its status, progress and log lines until it finishes."""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterator
from typing import Any, cast

import falcon

from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import TERMINAL, Status
from jobkeeper.http.media import to_json
from jobkeeper.http.models import MAX_ID
from jobkeeper.http.port import Service
from jobkeeper.http.v1.representation import job_from_aggregate

EVENT_ID = re.compile(r"[0-9]{1,16}")
BATCH = 100  # events read per poll, so no iteration does unbounded work


class JobStream:
    """GET /jobs/{id}/stream: text/event-stream, resumable with Last-Event-ID."""

    def __init__(
        self,
        service: Service,
        *,
        poll: float = 0.2,
        keepalive: float = 10.0,
        max_seconds: float | None = None,
    ) -> None:
        self.service, self.poll, self.keepalive = service, poll, keepalive
        self.max_seconds = max_seconds  # then the stream ends; clients reconnect with Last-Event-ID

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Stream the job from now (or from after the client's last event id)."""
        after = last_event_id(req)
        job = self.service.app.get_job(job_id)
        resp.content_type = "text/event-stream"
        resp.cache_control = ["no-cache"]
        resp.set_header("X-Accel-Buffering", "no")  # proxies must pass each event at once
        resp.stream = self.messages(job, after)

    def messages(self, job: Job, after: int | None) -> Generator[bytes, None, None]:
        """The job's SSE messages; ends when the job finishes, the service closes, or the
        generator is closed."""
        state: Job | None = job  # the repository hands out a copy: ours to change
        if after is None:
            yield message(job.version, "status", job_from_aggregate(job))
        elif after < job.version:
            state = self.service.app.get_job(job.number, version=after) if after else None
        beat = time.monotonic()
        end = None if self.max_seconds is None else beat + self.max_seconds
        closing = self.service.closing
        while not closing.is_set():
            events = self._events_after(job.number, state.version if state else 0)
            for event in events:
                before = state.status if state is not None else None
                state = cast(Job, event.mutate(state))
                yield b"".join(event_messages(event, before, state))
            if state is not None and state.status in TERMINAL:
                return
            if end is not None and time.monotonic() >= end:
                return
            if events:
                beat = time.monotonic()
            elif time.monotonic() - beat >= self.keepalive:
                beat = time.monotonic()
                yield b": keep-alive\n\n"  # a client that left is noticed on this write
            else:
                closing.wait(self.poll)

    def _events_after(self, job_id: int, version: int) -> list[Job.Event]:
        return self.service.app.job_events_after(job_id, version, BATCH)


def event_messages(event: Any, before: Status | None, job: Job) -> Iterator[bytes]:
    """The messages one domain event makes: its log lines, its progress, its new status."""
    lines = getattr(event, "lines", ())
    for place, line in enumerate(lines):
        data = {"job_id": job.number, "line": job.log_count - len(lines) + place + 1, **line}
        yield message(job.version, "log", data)
    if isinstance(event, Job.Progressed):
        data = {"job_id": job.number, "version": job.version, "progress": job.progress}
        yield message(job.version, "progress", data)
    if before is not job.status:
        yield message(job.version, "status", job_from_aggregate(job))


def message(event_id: int, event: str, data: object) -> bytes:
    """One SSE message; its id is the version of the job's event it comes from."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, event.encode(), to_json(data))


def last_event_id(req: falcon.Request) -> int | None:
    """The Last-Event-ID header as a job version; 400 when it is not one."""
    value = req.get_header("Last-Event-ID")
    if value is None or not value.strip():
        return None
    if not EVENT_ID.fullmatch(value.strip()) or int(value) > MAX_ID:
        raise falcon.HTTPBadRequest(
            title="Invalid header", description="Last-Event-ID: must be an event id of this stream"
        )
    return int(value)
