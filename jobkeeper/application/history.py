"""A job's recorded events as plain data, for audit: whole, in pages, or as a stream."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from jobkeeper.application.chain import HASH
from jobkeeper.domain.job import JSON, Job

ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "by", "originator_topic"}
)
EVENT_TYPES = tuple(
    sorted(
        name
        for name, value in vars(Job).items()
        if isinstance(value, type) and issubclass(value, Job.Event) and value is not Job.Event
    )
)
"""The names of a job's event types: what a history entry's `type` may be."""
SCAN_LIMIT = 20_000
"""Events one filtered page reads at most: a page of a rare type in a long history may hold
fewer entries than asked (even none) and still name a next page, so no request reads it all."""
CHUNK = 1000
"""Events read from the store at once while scanning or streaming."""

R = TypeVar("R")


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded event of a job, as plain data."""

    version: int
    type: str
    at: datetime
    by: str
    data: dict[str, JSON]
    hash: str | None = None
    """The event's link in its job's hash chain (None: recorded before the chains)."""


@dataclass(frozen=True)
class HistoryPage:
    """A page of a job's history, and the `after` of the next page (None on the last)."""

    items: list[HistoryEntry]
    next_after: int | None


def history_entry(event: Job.Event) -> HistoryEntry:
    """The entry of one domain event: its envelope, and its own fields as `data`."""
    return HistoryEntry(
        version=event.originator_version,
        type=type(event).__name__,
        at=event.timestamp,
        by=event.by,
        data={
            f.name: getattr(event, f.name)
            for f in dataclasses.fields(event)
            if f.name not in ENVELOPE_FIELDS
        },
        hash=vars(event).get(HASH),
    )


def history_entries(events: Iterable[Job.Event]) -> list[HistoryEntry]:
    """The entries of `events`, in their order."""
    return [history_entry(event) for event in events]


@dataclass(frozen=True)
class EventSource(Generic[R]):
    """How to read a job's recorded events without decoding them all.

    `read(after, descending, limit)` answers up to `limit` records after `after` in that order
    (None: from the start of it); `version` and `type_name` look at a record cheaply, `entry`
    decodes one.
    """

    read: Callable[[int | None, bool, int], Sequence[R]]
    version: Callable[[R], int]
    type_name: Callable[[R], str]
    entry: Callable[[R], HistoryEntry]


def history_page(
    source: EventSource[R],
    *,
    after: int | None,
    limit: int,
    types: frozenset[str] = frozenset(),
    descending: bool = False,
) -> HistoryPage:
    """The page of at most `limit` entries after `after` (exclusive, in the reading order),
    of the event types `types` (empty: every type)."""
    if not types:
        records = source.read(after, descending, limit + 1)
        page = [source.entry(r) for r in records[:limit]]
        return HistoryPage(page, page[-1].version if len(records) > limit else None)
    matches: list[R] = []
    cursor, scanned = after, 0
    while scanned < SCAN_LIMIT:
        chunk = source.read(cursor, descending, CHUNK)
        for record in chunk:
            scanned += 1
            cursor = source.version(record)
            if source.type_name(record) in types:
                matches.append(record)
                if len(matches) > limit:
                    page = [source.entry(r) for r in matches[:limit]]
                    return HistoryPage(page, page[-1].version)
        if len(chunk) < CHUNK:  # the end of the history
            return HistoryPage([source.entry(r) for r in matches], None)
    return HistoryPage([source.entry(r) for r in matches], cursor)


def history_stream(source: EventSource[R]) -> Iterator[HistoryEntry]:
    """Every entry, oldest first, read `CHUNK` events at a time (never the whole history)."""
    cursor: int | None = None
    while True:
        chunk = source.read(cursor, False, CHUNK)
        for record in chunk:
            yield source.entry(record)
        if len(chunk) < CHUNK:
            return
        cursor = source.version(chunk[-1])
