"""Shared fixtures: a started runtime on a temporary data folder, and polling helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.settings import Settings

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 20.0, interval: float = 0.02) -> T:
    """Poll `condition` until it returns something true; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def fast_settings(data: Path, **overrides: Any) -> Settings:
    """Settings that checkpoint and look for stops often, for quick tests."""
    values: dict[str, Any] = {"checkpoint_interval": 0.05, "poll_interval": 0.1}
    values.update(overrides)
    return Settings(data=data, **values)


@pytest.fixture
def runtime_factory(tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    """Builds started runtimes on the test's data folder; closes them afterwards."""
    started: list[Runtime] = []

    def make(data: Path | None = None, **overrides: Any) -> Runtime:
        runtime = Runtime(fast_settings(data or tmp_path / "data", **overrides))
        runtime.start()
        started.append(runtime)
        return runtime

    yield make
    for runtime in reversed(started):
        runtime.close()


@pytest.fixture
def runtime(runtime_factory: Callable[..., Runtime]) -> Runtime:
    """A started embedded runtime (SQLite files, in-process broker and worker)."""
    return runtime_factory()


def status_of(runtime: Runtime, job_id: int) -> str:
    return runtime.app.get_job(job_id).status.value


def wait_for_status(runtime: Runtime, job_id: int, *statuses: str, timeout: float = 20.0) -> Any:
    """Wait until the job is in one of `statuses`; returns the job."""
    wait_until(lambda: status_of(runtime, job_id) in statuses, timeout)
    return runtime.app.get_job(job_id)
