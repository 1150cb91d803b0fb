"""Stored events as the views read them: the domain's event objects, with times as ISO text.

The library's mapper decodes a stored state with the standard json module and an object hook,
and turns every time into a datetime; the views store times as the ISO text they were recorded
as, and mapping was most of the cost of a rebuild. `ViewEventReader` decodes the same state with
orjson into the same event classes and leaves each time as its stored text (the library writes
it with `datetime.isoformat`, so the text is what `isoformat` of the decoded time would give).
A state it cannot read exactly so (another wrapped value anywhere, a class version to upcast, a
cipher or a compressor) goes through the library's mapper, and its times become text after.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from eventsourcing.persistence import DatetimeAsISO, Mapper, Notification, find_id_convertor
from eventsourcing.utils import resolve_topic

TIME = DatetimeAsISO.name
WRAPPED = b'"_type_"'
"""How the library's JSON transcoder marks a value it wrapped (`{"_type_": .., "_data_": ..}`)."""


@dataclass(frozen=True)
class EventClass:
    """What reading one topic needs: the class, its id convertor, its fields declared as times."""

    cls: type[Any]
    convert_id: Callable[[Any], Any]
    times: tuple[str, ...]


class ViewEventReader:
    """Turns notifications into event objects for the views, cheaply."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self._plain = mapper.cipher is None and mapper.compressor is None
        self._classes: dict[str, EventClass | None] = {}

    def read(self, notification: Notification) -> Any:
        """The event that `notification` records, its datetimes as ISO text."""
        try:
            reading = self._classes[notification.topic]
        except KeyError:
            reading = self._reading(notification)
        values = self._decode(notification.state, reading.times) if reading else None
        if values is None or reading is None:
            return from_domain_event(self.mapper.to_domain_event(notification))
        values["originator_id"] = reading.convert_id(notification.originator_id)
        values["originator_version"] = notification.originator_version
        event = object.__new__(reading.cls)
        object.__setattr__(event, "__dict__", values)
        return event

    def _reading(self, notification: Notification) -> EventClass | None:
        """How to read the topic, or None when only the mapper can build its class."""
        cls: type[Any] = resolve_topic(notification.topic)
        reading = None
        if self._plain and is_dataclass(cls) and getattr(cls, "class_version", 1) == 1:
            id_type = cast(Hashable, type(notification.originator_id))
            convert_id = find_id_convertor(cls, id_type)
            times = tuple(f.name for f in fields(cls) if "datetime" in str(f.type))
            reading = EventClass(cls, convert_id, times)
        self._classes[notification.topic] = reading
        return reading

    @staticmethod
    def _decode(state: bytes, times: tuple[str, ...]) -> dict[str, Any] | None:
        """The state's values, or None unless its only wrapped values are the times."""
        try:
            values = orjson.loads(state)
        except orjson.JSONDecodeError:
            return None  # e.g. NaN, or an integer beyond 64 bits: the mapper reads those
        if type(values) is not dict or "class_version" in values:
            return None
        wrapped = state.count(WRAPPED)
        for name in times:
            value = values.get(name)
            if type(value) is dict and len(value) == 2 and value.get("_type_") == TIME:
                text = value.get("_data_")
                if type(text) is not str:
                    return None
                values[name] = text
                wrapped -= 1
        return None if wrapped else values


def from_domain_event(event: Any) -> Any:
    """A copy of a mapped domain event with its top-level datetimes as ISO text."""
    values = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in event.__dict__.items()
    }
    copy = object.__new__(type(event))
    object.__setattr__(copy, "__dict__", values)
    return copy
