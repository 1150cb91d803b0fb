"""The registry of job kinds: the built-in ones and those other packages declare."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from jobkeeper.domain.errors import InvalidJobError
from jobkeeper.kinds.kind import Kind

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "jobkeeper.kinds"


class KindRegistry:
    """Kinds by name; validates a submission's params against its kind."""

    def __init__(self, kinds: list[Kind] | None = None) -> None:
        self._kinds: dict[str, Kind] = {}
        for kind in kinds or []:
            self.add(kind)

    def add(self, kind: Kind) -> None:
        """Register `kind`; a later kind of the same name replaces the earlier."""
        self._kinds[kind.name] = kind

    def get(self, name: str) -> Kind:
        """The kind called `name`, or InvalidJobError naming the known kinds."""
        try:
            return self._kinds[name]
        except KeyError:
            known = ", ".join(sorted(self._kinds))
            raise InvalidJobError(f"unknown kind {name!r}; known kinds: {known}") from None

    def __iter__(self) -> Iterator[Kind]:
        return iter(sorted(self._kinds.values(), key=lambda k: k.name))

    def validate(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """`params` checked against kind `name`, with defaults filled in."""
        kind = self.get(name)
        try:
            return kind.validate(params)
        except ValidationError as error:
            raise InvalidJobError(f"bad params for kind {name!r}: {_describe(error)}") from None

    def load_entry_points(self) -> None:
        """Add the kinds other installed packages declare in `jobkeeper.kinds`."""
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                kind = entry.load()
            except Exception:
                log.exception("could not load job kind %s", entry.name)
                continue
            if isinstance(kind, Kind):
                self.add(kind)
            else:
                log.error("entry point %s is not a jobkeeper Kind", entry.name)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "params"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def default_registry(commands: str = "") -> KindRegistry:
    """The built-in kinds, those from entry points, and `command` if a commands file is named.

    A commands file that cannot be used raises CommandsFileError naming the line and field.
    """
    from jobkeeper.kinds import fail, legacy, primes, sleep

    registry = KindRegistry([sleep.KIND, primes.KIND, fail.KIND, *legacy.KINDS])
    registry.load_entry_points()
    if commands:
        from pathlib import Path

        from jobkeeper.kinds.command import command_kind
        from jobkeeper.kinds.commands import load

        registry.add(command_kind(load(Path(commands))))
    return registry
