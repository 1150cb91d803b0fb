"""Jobs as server-sent events: one job until it finishes, or every change of a filtered list.

Both follow the process's shared change feed (http/feed.py) on the event loop, holding no
thread while they wait (http/sse.py); `JobStream.messages` is the same job stream polling
the store from a thread, for a plain WSGI server.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, Generator, Iterator
from functools import partial
from typing import Any, cast

import falcon

from jobkeeper.domain.job import Job
from jobkeeper.domain.lifecycle import TERMINAL, Status
from jobkeeper.http.auth import caller
from jobkeeper.http.feed import Feed, Inbox, RowChange, job_number, moves_status
from jobkeeper.http.models import MAX_ID
from jobkeeper.http.port import Service
from jobkeeper.http.sse import KEEPALIVE, EventStream, message, raw_message
from jobkeeper.http.stream_slots import Slots
from jobkeeper.http.v1.models import JobStreamQuery
from jobkeeper.http.v1.representation import JOB_FIELDS, job_from_aggregate
from jobkeeper.http.validation import read_query

EVENT_ID = re.compile(r"[0-9]{1,16}")
BATCH = 100  # events read per poll, so no iteration does unbounded work
MAX_REPLAY = 50_000  # notifications a list stream replays on resuming; beyond: `reset`
VIEW_WAIT = 2.0  # seconds a resuming list stream waits for the views to catch up
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
"""The list's text filter lowers ASCII letters of the name only (as SQL LOWER on SQLite)."""
STATUS, OWNER, KIND, NAME = (JOB_FIELDS.index(f) for f in ("status", "owner", "kind", "name"))


def event_stream_headers(resp: falcon.Response) -> None:
    """The headers of every event stream."""
    resp.content_type = "text/event-stream"
    resp.cache_control = ["no-cache"]
    resp.set_header("X-Accel-Buffering", "no")  # proxies must pass each event at once


class JobStream:
    """GET /jobs/{id}/stream: text/event-stream, resumable with Last-Event-ID."""

    def __init__(
        self,
        service: Service,
        *,
        poll: float = 0.2,
        keepalive: float = 10.0,
        max_seconds: float | None = None,
        feed: Feed | None = None,
        slots: Slots | None = None,
    ) -> None:
        self.service, self.poll, self.keepalive = service, poll, keepalive
        self.max_seconds = max_seconds  # then the stream ends; clients reconnect with Last-Event-ID
        self.feed, self.slots = feed, slots

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int) -> None:
        """Stream the job from now (or from after the client's last event id)."""
        after = last_event_id(req)
        job = self.service.app.get_job(job_id)
        if self.feed is None:
            event_stream_headers(resp)
            resp.stream = self.messages(job, after)
            return
        self.feed.start()
        give_back = self.slots.take(caller(req)) if self.slots is not None else None
        event_stream_headers(resp)
        resp.stream = EventStream(
            partial(self.follow, job, after),
            sync=partial(self.messages, job, after),
            on_close=give_back,
        )

    async def follow(self, job: Job, after: int | None) -> AsyncGenerator[bytes, None]:
        """The job's SSE messages (as `messages`), from the shared feed, on the event loop."""
        assert self.feed is not None
        loop = asyncio.get_running_loop()
        state: Job | None = job
        if after is None:
            yield message(job.version, "status", job_from_aggregate(job))
        elif after < job.version:
            get = partial(self.service.app.get_job, job.number, version=after)
            state = await loop.run_in_executor(None, get) if after else None
        inbox = Inbox(loop)
        self.feed.follow_job(job.number, inbox)
        try:
            beat = loop.time()
            end = None if self.max_seconds is None else beat + self.max_seconds
            read = True  # once: what was recorded before the feed had the inbox
            closing = self.service.closing
            while not closing.is_set():
                version = state.version if state else 0
                if read or inbox.fell_behind:
                    inbox.fell_behind = False
                    inbox.take()  # what the read below brings too
                    events = await loop.run_in_executor(
                        None, self._events_after, job.number, version
                    )
                    read = len(events) == BATCH
                else:
                    events = inbox.take()
                sent = False
                for event in events:
                    if event.originator_version <= version:
                        continue
                    if event.originator_version != version + 1:
                        read = True  # a gap: the store has what the feed skipped
                        break
                    before = state.status if state is not None else None
                    state = cast(Job, event.mutate(state))
                    version = state.version
                    sent = True
                    yield b"".join(event_messages(event, before, state))
                if state is not None and state.status in TERMINAL:
                    return
                now = loop.time()
                if end is not None and now >= end:
                    return
                if sent:
                    beat = now
                elif now - beat >= self.keepalive:
                    beat = now
                    yield KEEPALIVE
                elif not read:
                    await inbox.wait(_wait(self.keepalive - (now - beat), end, now))
        finally:
            self.feed.leave(inbox, job.number)

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
                yield KEEPALIVE  # a client that left is noticed on this write
            else:
                closing.wait(self.poll)

    def _events_after(self, job_id: int, version: int) -> list[Job.Event]:
        return self.service.app.job_events_after(job_id, version, BATCH)


class JobListStream:
    """GET /jobs/stream: every change of the jobs a filter of GET /jobs selects, as the list's
    items, resumable with Last-Event-ID (a position in the event log)."""

    def __init__(
        self,
        service: Service,
        feed: Feed,
        *,
        slots: Slots | None = None,
        keepalive: float = 10.0,
        max_seconds: float | None = None,
    ) -> None:
        self.service, self.feed, self.slots = service, feed, slots
        self.keepalive, self.max_seconds = keepalive, max_seconds

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Stream the changes from now (or from after the client's last event id)."""
        query = read_query(req, JobStreamQuery)
        after = last_event_id(req)
        now = self.service.app.position()  # no change lies beyond the log's end
        since = now if after is None else min(after, now)
        self.feed.start()
        give_back = self.slots.take(caller(req)) if self.slots is not None else None
        event_stream_headers(resp)
        resp.stream = EventStream(partial(self.follow, Filter(query), since), on_close=give_back)

    async def follow(self, match: Filter, since: int) -> AsyncGenerator[bytes, None]:
        """From after position `since`: `job` for each changed job that matches, `leave` for
        one whose status no longer does, `reset` when too much was missed to replay (then
        the client loads the list again)."""
        loop = asyncio.get_running_loop()
        inbox = Inbox(loop)
        start = self.feed.follow_rows(inbox)
        try:
            sent = since
            if sent < start - MAX_REPLAY:
                yield message(start, "reset", {"position": start})
                sent = start
            else:  # where a reconnection resumes from, sent at once: the answer starts now
                yield b"id: %d\n: open\n\n" % sent
            catch_up = sent < start
            beat = loop.time()
            end = None if self.max_seconds is None else beat + self.max_seconds
            closing = self.service.closing
            while not closing.is_set():
                if catch_up or inbox.fell_behind:
                    inbox.fell_behind, catch_up = False, False
                    upto = self.feed.rows_position
                    changes = await loop.run_in_executor(None, self._replay, sent, upto)
                else:
                    changes, upto = inbox.take(), 0
                out = []
                for change in changes:
                    if change.position <= sent:
                        continue
                    sent = change.position
                    event = match.event(change)
                    if event is not None:
                        out.append(raw_message(change.position, event, change.data))
                sent = max(sent, upto)  # a replay brought every change up to there
                now = loop.time()
                if out:
                    beat = now
                    yield b"".join(out)
                if end is not None and now >= end:
                    return
                if now - beat >= self.keepalive:
                    beat = now
                    yield b"id: %d\n%s" % (sent, KEEPALIVE)  # the cursor moves on, silently
                elif not out:
                    await inbox.wait(_wait(self.keepalive - (now - beat), end, now))
        finally:
            self.feed.leave(inbox)

    def _replay(self, after: int, upto: int) -> list[RowChange]:
        """The rows of the jobs changed after `after` up to `upto` (from a thread)."""
        last: dict[int, tuple[int, bool]] = {}
        position = after
        while position < upto:
            changes = self.service.app.job_changes_after(position, 500)
            for at, event in changes:
                if at > upto:
                    break
                before = last.get(job_number(event), (0, False))
                last[job_number(event)] = (at, before[1] or moves_status(event))
            if len(changes) < 500:
                break
            position = changes[-1][0]
        if not last:
            return []
        self.service.views.wait(upto, VIEW_WAIT)
        ids = sorted(last)
        rows = [
            row
            for place in range(0, len(ids), 500)
            for row in self.service.views.stored_jobs_by_id(JOB_FIELDS, ids[place : place + 500])
        ]
        return self.feed.changes(rows, last)


class Filter:
    """The filters of GET /jobs, applied to one row (as the list's query applies them)."""

    def __init__(self, query: JobStreamQuery) -> None:
        self.statuses = None if query.status is None else {s.value for s in query.status}
        self.owner, self.kind = query.owner, query.kind
        self.text = None if query.q is None else query.q.lower()

    def event(self, change: RowChange) -> str | None:
        """`job` when the row matches, `leave` when its status moved out of the filter."""
        row = change.row
        if self.owner is not None and row[OWNER] != self.owner:
            return None
        if self.kind is not None and row[KIND] != self.kind:
            return None
        if self.text is not None and self.text not in row[NAME].translate(ASCII_LOWER):
            return None
        if self.statuses is None or row[STATUS] in self.statuses:
            return "job"
        return "leave" if change.status_changed else None


def _wait(keepalive_in: float, end: float | None, now: float) -> float:
    """How long a stream may wait: until its keep-alive, or its end if that comes first."""
    return keepalive_in if end is None else max(0.0, min(keepalive_in, end - now))


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
