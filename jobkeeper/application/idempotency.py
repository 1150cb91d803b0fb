"""Requests with an idempotency key: which of them this process is answering, and the
answers already recorded (the aggregate and its rules are in `domain.idempotency`)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from jobkeeper.domain.errors import ConflictError, DomainError, KeyInFlightError, KeyReusedError
from jobkeeper.domain.idempotency import KEPT_FOR, IdempotencyKey, key_aggregate_id

UNRECORDED_ERRORS = (ConflictError, KeyInFlightError, KeyReusedError)
"""Errors that say "try again" or concern the key itself: a retry must not be given them."""


@dataclass(frozen=True)
class Keyed:
    """A user's request with an idempotency key; `fingerprint` tells requests apart."""

    user: str
    key: str
    fingerprint: str

    @property
    def aggregate_id(self) -> str:
        return key_aggregate_id(self.user, self.key)


def fingerprint(*parts: str | bytes) -> str:
    """A digest of what makes a request the request it is (method, path, canonical body)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


def recorded_answer(
    key: IdempotencyKey | None, keyed: Keyed, at: datetime
) -> IdempotencyKey | None:
    """The key if it holds an answer to give `keyed` again; None if the request is to run.

    Raises KeyReusedError when the key answered a different request less than KEPT_FOR ago.
    """
    if key is None or key.expired(at):
        return None
    if key.fingerprint != keyed.fingerprint:
        hours = int(KEPT_FOR.total_seconds() // 3600)
        raise KeyReusedError(
            "this Idempotency-Key was used for a different request in the last "
            f"{hours} hours; send a new key for a new request"
        )
    return key


def records(error: DomainError) -> bool:
    """Whether a retry with the same key is to be given this error again."""
    return not isinstance(error, UNRECORDED_ERRORS)


class InFlight:
    """The keys of the requests this process is answering now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[str] = set()

    @contextmanager
    def hold(self, keyed: Keyed) -> Iterator[None]:
        """Hold the key while the request runs; KeyInFlightError if it is held already."""
        with self._lock:
            if keyed.aggregate_id in self._held:
                raise KeyInFlightError(
                    "a request with this Idempotency-Key is still being answered; "
                    "retry in a moment to get its answer"
                )
            self._held.add(keyed.aggregate_id)
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(keyed.aggregate_id)
