"""A job's recorded events as plain data, for audit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from jobkeeper.domain.job import JSON, Job

ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "by", "originator_topic"}
)


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded event of a job, as plain data."""

    version: int
    type: str
    at: datetime
    by: str
    data: dict[str, JSON]


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
    )


def history_entries(events: Iterable[Job.Event]) -> list[HistoryEntry]:
    """The entries of `events`, in their order."""
    return [history_entry(event) for event in events]
