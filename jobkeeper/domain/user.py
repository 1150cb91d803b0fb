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
RESERVED_PREFIX = "number-"
"""New names may not start so: `user-number-N` is the stream id of user number N's claim.
Stream ids stay as they are (existing stores keep working); only the name is refused."""
ROLES = ("user", "admin")


def user_aggregate_id(name: str) -> str:
    """The event stream id of the user called `name`."""
    return f"user-{name}"


def user_number_id(number: int) -> str:
    """The event stream id of the index entry that claims user number `number`."""
    return f"user-number-{number}"


def check_name(name: str) -> None:
    """Raise InvalidUserError unless `name` can name a user."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidUserError(
            f"user name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if name in RESERVED_NAMES:
        raise InvalidUserError(f"user name {name!r} is reserved")
    if name.startswith(RESERVED_PREFIX):
        raise InvalidUserError(
            f"user name {name!r} may not start with {RESERVED_PREFIX!r} (reserved for numbering)"
        )


class User(BaseAggregate[str]):
    """Someone who submits and commands jobs."""

    if TYPE_CHECKING:  # set by the events; not constructor arguments
        number: int
        name: str
        surname: str
        title: str
        role: str
        created_at: datetime
        tokens: dict[str, dict[str, str]]

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
            user.tokens = {}

    @dataclass(frozen=True)
    class TokenIssued(Event):
        """A token was issued; only its SHA-256 digest is recorded, never the token."""

        token_id: str
        digest: str
        label: str

        def apply(self, user: User) -> None:
            user.tokens[self.token_id] = {
                "digest": self.digest, "label": self.label, "issued_at": self.timestamp.isoformat()
            }  # fmt: skip

    @dataclass(frozen=True)
    class TokenRevoked(Event):
        token_id: str

        def apply(self, user: User) -> None:
            user.tokens.pop(self.token_id, None)

    @classmethod
    def create(
        cls, *, number: int, name: str, surname: str, title: str, role: str, by: str, at: datetime
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
            timestamp=at,
        )

    def issue_token(
        self, *, token_id: str, digest: str, label: str, by: str, at: datetime
    ) -> None:
        """Record a new token of this user by its digest."""
        self.trigger_event(
            self.TokenIssued, token_id=token_id, digest=digest, label=label, by=by, timestamp=at
        )

    def revoke_token(self, token_id: str, by: str, at: datetime) -> bool:
        """Revoke one token; False if it is not (or no longer) this user's."""
        if token_id not in self.tokens:
            return False
        self.trigger_event(self.TokenRevoked, token_id=token_id, by=by, timestamp=at)
        return True


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
    def claim(cls, number: int, name: str, at: datetime) -> UserNumber:
        """The index entry that gives `number` to `name`."""
        return cls._create(
            cls.Claimed, id=user_number_id(number), number=number, name=name, timestamp=at
        )
