"""The per-user cap on open event streams: counted in this process, or in Redis for all of them.

In Redis each open stream is a member of its user's sorted set, scored by when its lease ends;
the process that holds the stream renews the lease every few seconds, so the streams of a
process that died without giving them back stop counting within LEASE seconds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import falcon

log = logging.getLogger(__name__)

LEASE = 30.0  # seconds a stream counts in Redis without being renewed
TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local open = redis.call('ZCARD', KEYS[1])
if open >= tonumber(ARGV[2]) then return open end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return -1
"""
"""Drop the expired leases, then count the user's streams and add one if under the cap:
atomically, so two processes cannot both take the last slot."""


class Slots(Protocol):
    """Takes a user's stream slot (or answers 429); what it hands back gives the slot back."""

    limit: int

    def take(self, user: str) -> Callable[[], None]: ...


def too_many_streams(user: str, count: int, limit: int) -> falcon.HTTPError:
    """The 429 of a user holding `count` streams at the cap `limit`."""
    return falcon.HTTPTooManyRequests(
        title="Too many open streams",
        description=f"{user} already has {count} open event streams, the most allowed "
        f"({limit}); close one (a page or a `stream` request) and retry",
        headers={"Retry-After": "5"},
    )


class StreamSlots:
    """How many event streams each user has open in this process, at most `limit` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, user: str) -> Callable[[], None]:
        """Count one more stream of `user` and hand back what gives it back; 429 at the cap."""
        with self._lock:
            count = self._open.get(user, 0)
            if count >= self.limit:
                raise too_many_streams(user, count, self.limit)
            self._open[user] = count + 1
        return _once(lambda: self._give_back(user))

    def _give_back(self, user: str) -> None:
        with self._lock:
            left = self._open.get(user, 1) - 1
            if left > 0:
                self._open[user] = left
            else:
                self._open.pop(user, None)

    def open_streams(self, user: str) -> int:
        """How many streams `user` has open here."""
        with self._lock:
            return self._open.get(user, 0)


class SharedStreamSlots:
    """The cap counted in Redis at `url`, shared by every process that uses `namespace`.

    When Redis does not answer, the cap falls back to this process's own count (a stream is
    not refused for want of a counter)."""

    def __init__(self, limit: int, url: str, namespace: str, lease: float = LEASE) -> None:
        import redis

        self.limit, self.namespace, self.lease = limit, namespace, lease
        self.client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self.client.register_script(TAKE)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self.local = StreamSlots(limit)
        self._mine: dict[str, str] = {}  # member: key, of the streams this process holds
        self._lock = threading.Lock()
        self._renewing = threading.Event()

    def take(self, user: str) -> Callable[[], None]:
        """As StreamSlots.take, counting every process's streams."""
        key, member = f"{self.namespace}:streams:{user}", uuid.uuid4().hex
        now = time.time()
        try:
            count = int(
                self._take(
                    keys=[key],
                    args=[now, self.limit, now + self.lease, member, int(self.lease * 2) + 1],
                )
            )
        except self._errors as error:
            log.warning("stream cap: Redis did not answer (%s); counting in this process", error)
            return self.local.take(user)
        if count >= 0:
            raise too_many_streams(user, count, self.limit)
        with self._lock:
            self._mine[member] = key
        self._start_renewing()
        return _once(lambda: self._give_back(key, member))

    def _give_back(self, key: str, member: str) -> None:
        with self._lock:
            self._mine.pop(member, None)
        with contextlib.suppress(*self._errors):  # else its lease runs out instead
            self.client.zrem(key, member)

    def _start_renewing(self) -> None:
        with self._lock:
            if self._renewing.is_set():
                return
            self._renewing.set()
        threading.Thread(target=self._renew, name="stream-leases", daemon=True).start()

    def _renew(self) -> None:
        while True:
            time.sleep(self.lease / 3)
            with self._lock:
                mine = dict(self._mine)
            if not mine:
                continue
            until = time.time() + self.lease
            try:
                pipe = self.client.pipeline(transaction=False)
                for member, key in mine.items():
                    pipe.zadd(key, {member: until}, xx=True)
                    pipe.expire(key, int(self.lease * 2) + 1)
                pipe.execute()
            except self._errors as error:
                log.warning("stream cap: could not renew leases in Redis (%s)", error)


def _once(action: Callable[[], None]) -> Callable[[], None]:
    done = threading.Event()
    lock = threading.Lock()

    def give_back() -> None:
        with lock:
            if done.is_set():
                return
            done.set()
        action()

    return give_back
