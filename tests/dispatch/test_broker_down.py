"""A broker that cannot be reached: sending raises the application's DispatchError at once."""

from __future__ import annotations

import pytest

from jobkeeper.application.ports import DispatchError
from jobkeeper.dispatch.broker import open_broker
from jobkeeper.dispatch.tasks import JobQueue
from tests.e2e.harness import free_port


def test_sending_through_a_redis_that_is_down_raises_dispatch_error() -> None:
    broker = open_broker(f"redis://127.0.0.1:{free_port()}/0", namespace="jobkeeper-down")
    try:
        queue = JobQueue(broker, "jobkeeper-down")
        with pytest.raises(DispatchError, match="the broker did not take job 7"):
            queue.dispatch(7)
    finally:
        broker.close()
