"""A user drives jobs through their whole life over HTTP against the real server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.harness import Server, events_of, stream_events, wait_for

pytestmark = pytest.mark.e2e

PRIMES_UP_TO_A_MILLION = 78498
# About three seconds: a thousand chunks with a short rest after each.
SLOW_PRIMES = {"limit": 1_000_000, "chunk": 1000, "delay": 0.003}


def test_stop_resume_cancel_restart_lists_logs_history_and_stream(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    assert f"jobkeeper listening on {server.url} (data: {server.data})" in server.output()
    primes = server.submit("primes", **SLOW_PRIMES)
    sleeper = server.submit("sleep", seconds=60, step=0.1)

    server.wait_progress(primes)
    server.wait_status(sleeper, "running")
    wait_for(
        lambda: {primes, sleeper} <= set(server.ids("/jobs/running")),
        10,
        "both jobs listed running",
    )

    # Stop keeps the progress and the checkpoint.
    answer = server.post(f"/jobs/{primes}/stop").json()
    assert answer["status"] in ("stopping", "stopped")
    stopped = server.wait_status(primes, "stopped")
    assert 0 < stopped["progress"] < 1
    assert stopped["checkpoint"]["next"] > 0 and stopped["checkpoint"]["count"] > 0
    assert server.post(f"/jobs/{primes}/stop").json()["status"] == "stopped"  # already in effect
    wait_for(lambda: primes not in server.ids("/jobs/running"), 10, "stopped job leaves running")

    # Cancel ends a running job for good.
    server.post(f"/jobs/{sleeper}/cancel")
    assert server.wait_status(sleeper, "cancelled")["result"] is None

    # Resume continues from the checkpoint and finishes with the exact count.
    assert server.post(f"/jobs/{primes}/resume").json()["status"] in ("queued", "running")
    done = server.wait_status(primes, "succeeded")
    assert done["result"] == {"count": PRIMES_UP_TO_A_MILLION}
    assert done["progress"] == 1
    assert done["attempt"] == 1

    history = server.history(primes)
    types = [entry["type"] for entry in history]
    assert types[0] == "Submitted" and types[-1] == "Succeeded"
    order = [types.index(t) for t in ("StopRequested", "Stopped", "Resumed", "Succeeded")]
    assert order == sorted(order), types
    (request,) = events_of(history, "StopRequested")
    assert request["by"] == "admin"
    assert events_of(history, "Resumed")[0]["by"] == "admin"
    assert all(entry["at"] for entry in history)
    assert [entry["version"] for entry in history] == list(range(1, len(history) + 1))
    resumed_at = types.index("Resumed")
    after_resume = events_of(history[resumed_at:], "Progressed")
    if after_resume:  # the run went on from the checkpoint, not from zero
        assert after_resume[0]["data"]["checkpoint"]["next"] >= stopped["checkpoint"]["next"]
    sleeper_history = server.history(sleeper)
    assert [e["by"] for e in events_of(sleeper_history, "CancelRequested")] == ["admin"]
    assert len(events_of(sleeper_history, "Cancelled")) == 1

    texts = [line["text"] for line in server.get(f"/jobs/{primes}/logs")["items"]]
    assert "counting primes from 0 to 1000000" in texts
    assert f"counting primes from {stopped['checkpoint']['next']} to 1000000" in texts
    assert f"found {PRIMES_UP_TO_A_MILLION} primes up to 1000000" in texts

    # Restart runs a new attempt from scratch to the end.
    restarted = server.post(f"/jobs/{primes}/restart").json()
    assert restarted["attempt"] == 2 and restarted["status"] in ("queued", "running")
    short = server.submit("sleep", seconds=1.0, step=0.1)
    events = stream_events(server, short)
    assert events and events[-1]["status"] == "succeeded"
    again = server.wait_status(primes, "succeeded")
    assert again["attempt"] == 2 and again["result"] == {"count": PRIMES_UP_TO_A_MILLION}
    assert events_of(server.history(primes), "Restarted")[0]["by"] == "admin"
    assert len(events_of(server.history(primes), "Succeeded")) == 2

    def lists_settled() -> bool:
        finished = set(server.ids("/jobs/finished"))
        return {primes, sleeper, short} <= finished and not (
            {primes, sleeper, short} & set(server.ids("/jobs/running"))
        )

    wait_for(lists_settled, 10, "finished jobs listed finished and not running")
    last_ten = server.ids("/users/admin/jobs")
    assert last_ten[:3] == [short, sleeper, primes]  # newest first
    statuses = {job["id"]: job["status"] for job in server.get("/jobs")["items"]}
    assert statuses[primes] == "succeeded" and statuses[sleeper] == "cancelled"
    server.get("/jobs/999999", expect=404)
