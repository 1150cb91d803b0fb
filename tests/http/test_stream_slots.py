"""The per-user cap on open streams, counted in one process or shared in Redis."""

from __future__ import annotations

import uuid

import falcon
import pytest

from jobkeeper.http.stream_slots import SharedStreamSlots, StreamSlots
from tests.conftest import REDIS_URL, wait_until


def test_a_process_counts_each_users_streams_up_to_the_cap() -> None:
    slots = StreamSlots(2)
    first, second = slots.take("ann"), slots.take("ann")
    with pytest.raises(falcon.HTTPTooManyRequests) as refused:
        slots.take("ann")
    assert "ann already has 2 open event streams" in str(refused.value.description)
    slots.take("bob")  # another user's cap
    first()
    first()  # giving back twice counts once
    assert slots.open_streams("ann") == 1
    slots.take("ann")
    second()


@pytest.mark.redis
def test_processes_sharing_redis_share_each_users_cap() -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    one, two = (SharedStreamSlots(2, REDIS_URL, namespace) for _ in range(2))
    give_back = one.take("ann")
    two.take("ann")
    for slots in (one, two):
        with pytest.raises(falcon.HTTPTooManyRequests):
            slots.take("ann")
    give_back()
    two.take("ann")


@pytest.mark.redis
def test_the_streams_of_a_process_that_died_stop_counting_when_their_lease_ends() -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    dead = SharedStreamSlots(1, REDIS_URL, namespace, lease=0.5)
    dead.take("ann")
    dead._mine.clear()  # as if its process was gone: nothing renews the lease
    alive = SharedStreamSlots(1, REDIS_URL, namespace, lease=0.5)
    with pytest.raises(falcon.HTTPTooManyRequests):
        alive.take("ann")

    def taken() -> bool:
        try:
            alive.take("ann")
        except falcon.HTTPTooManyRequests:
            return False
        return True

    wait_until(taken, timeout=10)


@pytest.mark.redis
def test_a_held_stream_keeps_counting_past_its_first_lease() -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    holder = SharedStreamSlots(1, REDIS_URL, namespace, lease=0.6)
    holder.take("ann")
    other = SharedStreamSlots(1, REDIS_URL, namespace, lease=0.6)
    key = f"{namespace}:streams:ann"
    first_end = max(score for _, score in holder.client.zrange(key, 0, -1, withscores=True))
    wait_until(
        lambda: max(s for _, s in holder.client.zrange(key, 0, -1, withscores=True)) > first_end,
        timeout=10,
    )  # renewed
    with pytest.raises(falcon.HTTPTooManyRequests):
        other.take("ann")


def test_an_unreachable_redis_falls_back_to_this_processs_count() -> None:
    slots = SharedStreamSlots(1, "redis://127.0.0.1:1/0", "test")
    slots.take("ann")
    with pytest.raises(falcon.HTTPTooManyRequests):
        slots.take("ann")
