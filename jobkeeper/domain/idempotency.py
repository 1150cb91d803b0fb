"""Idempotency keys: the first answer to a user's request, kept so a retry gets it again.

A key's stream id is derived from the user and the key, and its answer is saved in the same
transaction as what the request recorded. So when two processes receive the same key at
once, the event store lets one of them record and the other finds its answer: a retry can
never submit a job twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

NAMESPACE = uuid.UUID("6f1c2a0e-5b8e-4c57-9a43-0d6f2f3b9c11")
KEPT_FOR = timedelta(hours=24)
"""How long a key's answer is replayed; after that the key may be used again."""


def key_aggregate_id(user: str, key: str) -> str:
    """The event stream id of `user`'s idempotency key `key`."""
    return "idempotency-" + str(uuid.uuid5(NAMESPACE, user + "\n" + key))


class IdempotencyKey(BaseAggregate[str]):
    """One user's key: which request it was given to, and what that request answered.

    The answer is the job and its version after the request (an HTTP answer is rebuilt from
    them exactly), or the error the request met.
    """

    if TYPE_CHECKING:  # set by the events; not constructor arguments
        user: str
        fingerprint: str
        job_id: int | None
        job_version: int | None
        error: str | None
        message: str | None
        answered_at: datetime

    @dataclass(frozen=True)
    class Event(CanMutateAggregate[str]):
        originator_id: str
        originator_version: int
        timestamp: datetime

    @dataclass(frozen=True)
    class Created(Event, CanInitAggregate[str]):
        originator_topic: str
        user: str

        def apply(self, key: IdempotencyKey) -> None:
            key.user = self.user

    @dataclass(frozen=True)
    class Answered(Event):
        """A request with the key was answered (the first, or the first after KEPT_FOR)."""

        fingerprint: str
        job_id: int | None
        job_version: int | None
        error: str | None
        message: str | None

        def apply(self, key: IdempotencyKey) -> None:
            key.fingerprint, key.job_id = self.fingerprint, self.job_id
            key.job_version, key.error, key.message = self.job_version, self.error, self.message
            key.answered_at = self.timestamp

    @classmethod
    def answer(
        cls, existing: IdempotencyKey | None, user: str, key: str, at: datetime, **answer: Any
    ) -> IdempotencyKey:
        """The key with this answer recorded: a new key, or an expired one given again."""
        if existing is None:
            existing = cls._create(
                cls.Created, id=key_aggregate_id(user, key), user=user, timestamp=at
            )
        elif not existing.expired(at):
            raise ValueError("a key is answered again only once it has expired")
        existing.trigger_event(cls.Answered, timestamp=at, **answer)
        return existing

    def expired(self, at: datetime) -> bool:
        """Whether the answer is older than KEPT_FOR at `at` (the key may then be used again)."""
        return at - self.answered_at >= KEPT_FOR
