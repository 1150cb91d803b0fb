"""Readiness checks: each answered "ok" or with what is wrong, bounded in time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from jobkeeper.application.readiness import Lag, Readiness, lag_check, views_lag

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_report_names_each_check_and_what_is_wrong() -> None:
    def broken() -> None:
        raise ConnectionError("connection refused\nmore detail nobody needs")

    readiness = Readiness({"store": lambda: None, "views": lambda: "far behind", "broker": broken})
    report = readiness.report()
    assert report.checks == {"store": "ok", "views": "far behind", "broker": "connection refused"}
    assert not report.ready
    assert report.problems() == "views: far behind; broker: connection refused"
    assert Readiness({"store": lambda: None}).report().ready


def test_a_check_that_does_not_answer_in_time_is_not_ready() -> None:
    release = threading.Event()

    def hangs() -> None:
        release.wait(10)

    readiness = Readiness({"hangs": hangs}, timeout=0.05)
    try:
        assert readiness.report().checks == {"hangs": "no answer within 0.05 s"}
    finally:
        release.set()
        readiness.close()


def test_views_lag_counts_events_and_the_age_of_the_first_missing_one() -> None:
    asked: list[int] = []

    def timestamp_after(position: int) -> datetime:
        asked.append(position)
        return NOW - timedelta(seconds=7)

    assert views_lag(10, 10, timestamp_after, NOW) == Lag(0, 0.0)
    assert asked == []  # up to date: nothing to read
    assert views_lag(12, 10, timestamp_after, NOW) == Lag(2, 7.0)
    assert asked == [10]
    assert views_lag(12, 10, lambda p: NOW + timedelta(seconds=1), NOW) == Lag(2, 0.0)


def test_the_lag_check_allows_up_to_its_limit() -> None:
    assert lag_check(lambda: Lag(3, 5.0), 5.0)() is None
    problem = lag_check(lambda: Lag(3, 5.5), 5.0)()
    assert problem is not None and "3 events (5.5 s) behind" in problem
