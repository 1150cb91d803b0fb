"""Shared fixtures: a started runtime on a temporary data folder, and polling helpers."""

from __future__ import annotations

import os
import time
import uuid
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


POSTGRES_URL = os.environ.get(
    "JOBKEEPER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def service_missing(what: str, error: Exception) -> None:
    """Skip a test whose server is not running, unless CI demands every test run."""
    message = f"{what} is not reachable ({error}); start it to run this test"
    if os.environ.get("JOBKEEPER_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The event and view store of a test: SQLite files, or a schema of its own in PostgreSQL."""
    if request.param == "sqlite":
        yield ""
        return
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        service_missing("PostgreSQL", error)
    schema = f"jobkeeper_test_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def runtime_factory(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Runtime]]:
    """Builds started runtimes on the test's data folder; closes them afterwards."""
    started: list[Runtime] = []

    def make(data: Path | None = None, **overrides: Any) -> Runtime:
        overrides.setdefault("database_url", database_url)
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
