"""The User aggregate, and the index that keeps user numbers unique."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from jobkeeper.domain.errors import InvalidUserError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RESERVED_NAMES = frozenset({"system"})
ROLES = ("user", "admin")


def user_aggregate_id(name: str) -> str:
    """The event stream id of the user called `name`."""
    return f"user-{name}"


def user_number_id(number: int) -> str:
    """The event stream id of the index entry that claims user number `number`."""
    return f"user-number-{number}"


def check_name(name: str) -> None:
    """Raise InvalidUserError unless `name` can name a user."""
    if not NAME_PATTERN.match(name):
        raise InvalidUserError(
            f"user name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if name in RESERVED_NAMES:
        raise InvalidUserError(f"user name {name!r} is reserved")


class User(BaseAggregate[str]):
    """Someone who submits and commands jobs."""

    if TYPE_CHECKING:  # set by the events; not constructor arguments
        number: int
        name: str
        surname: str
        title: str
        role: str
        created_at: datetime

    @dataclass(frozen=True)
    class Event(CanMutateAggregate[str]):
        """Every user event says when (timestamp) and who (by)."""

        originator_id: str
        originator_version: int
        timestamp: datetime
        by: str

    @dataclass(frozen=True)
    class Created(Event, CanInitAggregate[str]):
        originator_topic: str
        number: int
        name: str
        surname: str
        title: str
        role: str

        def apply(self, user: User) -> None:
            user.number, user.name = self.number, self.name
            user.surname, user.title, user.role = self.surname, self.title, self.role
            user.created_at = self.timestamp

    @classmethod
    def create(
        cls, *, number: int, name: str, surname: str, title: str, role: str, by: str
    ) -> User:
        """A new user; the caller has checked the name."""
        if role not in ROLES:
            raise InvalidUserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        return cls._create(
            cls.Created,
            id=user_aggregate_id(name),
            number=number,
            name=name,
            surname=surname,
            title=title,
            role=role,
            by=by,
        )


class UserNumber(BaseAggregate[str]):
    """Claims one user number for one name; saved with the user, so numbers never repeat."""

    if TYPE_CHECKING:  # set by the events; not constructor arguments
        number: int
        name: str

    @dataclass(frozen=True)
    class Event(CanMutateAggregate[str]):
        originator_id: str
        originator_version: int
        timestamp: datetime

    @dataclass(frozen=True)
    class Claimed(Event, CanInitAggregate[str]):
        originator_topic: str
        number: int
        name: str

        def apply(self, claim: UserNumber) -> None:
            claim.number, claim.name = self.number, self.name

    @classmethod
    def claim(cls, number: int, name: str) -> UserNumber:
        """The index entry that gives `number` to `name`."""
        return cls._create(cls.Claimed, id=user_number_id(number), number=number, name=name)
