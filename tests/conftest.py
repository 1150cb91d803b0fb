"""Shared fixtures: a started runtime on a temporary data folder, and polling helpers."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

from jobkeeper.bootstrap import Runtime
from jobkeeper.kinds.kind import Kind
from jobkeeper.kinds.registry import default_registry
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


IN_PROCESS_POOLS = {"db_pool_size": 1, "db_max_overflow": 9}
"""PostgreSQL pools of the runtimes tests run in their own process: the tests share one server
(100 connections) with each other and with the processes of the end-to-end clusters."""


def fast_settings(data: Path, **overrides: Any) -> Settings:
    """Settings that checkpoint and look for stops often, for quick tests."""
    values: dict[str, Any] = {"checkpoint_interval": 0.05, "poll_interval": 0.1, **IN_PROCESS_POOLS}
    values.update(overrides)
    return Settings(data=data, **values)


@contextmanager
def running_with_kinds(data: Path, *kinds: Kind) -> Iterator[Runtime]:
    """A started embedded runtime whose kinds are the built-in ones and `kinds`; closed after."""
    registry = default_registry()
    for kind in kinds:
        registry.add(kind)
    runtime = Runtime(fast_settings(data), kinds=registry)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.close()


POSTGRES_URL = os.environ.get(
    "JOBKEEPER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("JOBKEEPER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("JOBKEEPER_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def service_missing(what: str, error: Exception) -> NoReturn:
    """Skip a test whose server is not running, unless CI demands every test run."""
    message = f"{what} is not reachable ({error}); start it to run this test"
    if os.environ.get("JOBKEEPER_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL with a schema of its own, dropped afterwards."""
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


@contextmanager
def broker_queue(kind: str) -> Iterator[tuple[str, str]]:
    """A broker URL and a queue name of this test's own, removed afterwards."""
    queue = f"jobkeeper-test-{uuid.uuid4().hex[:12]}"
    if kind == "memory":
        yield "memory://", queue
    elif kind == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        try:
            client.ping()
        except redis.RedisError as error:
            service_missing("Redis", error)
        try:
            yield REDIS_URL, queue
        finally:
            keys = list(client.scan_iter(f"{queue}:*"))
            if keys:
                client.delete(*keys)
            client.close()
    else:
        import pika

        parameters = pika.URLParameters(RABBITMQ_URL)
        parameters.socket_timeout = 3
        try:
            connection = pika.BlockingConnection(parameters)
        except pika.exceptions.AMQPError as error:
            service_missing("RabbitMQ", error)
        try:
            yield RABBITMQ_URL, queue
        finally:
            channel = connection.channel()
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                channel.queue_delete(name)
            connection.close()


BACKENDS = {
    "embedded": ("sqlite", "memory"),
    "scaled": ("postgres", "redis"),
    "rabbitmq": ("postgres", "rabbitmq"),
}
SCALED_MARKS = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The event and view store of a test: SQLite files, or a schema of its own in PostgreSQL."""
    if request.param == "sqlite":
        yield ""
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture(params=["embedded", pytest.param("scaled", marks=SCALED_MARKS)])
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Settings of a backend: embedded (SQLite, in-process broker) or scaled (PostgreSQL, Redis)."""
    with backend_settings(request.param) as settings:
        yield settings


@contextmanager
def backend_settings(name: str, in_process: bool = True) -> Iterator[dict[str, Any]]:
    """A backend's settings: its stores (SQLite, or a PostgreSQL schema of its own), its
    broker and queue; `in_process` runtimes get small PostgreSQL pools."""
    database, broker = BACKENDS[name]
    with ExitStack() as stack:
        url = "" if database == "sqlite" else stack.enter_context(postgres_schema())
        broker_url, queue = stack.enter_context(broker_queue(broker))
        settings: dict[str, Any] = {"database_url": url, "broker_url": broker_url, "queue": queue}
        if url and in_process:
            settings.update(IN_PROCESS_POOLS)
        if broker != "memory":
            settings["worker_timeout"] = 3.0
        yield settings


@pytest.fixture
def runtime_factory(tmp_path: Path, backend: dict[str, Any]) -> Iterator[Callable[..., Runtime]]:
    """Builds started runtimes on the test's data folder; closes them afterwards."""
    started: list[Runtime] = []

    def make(data: Path | None = None, **overrides: Any) -> Runtime:
        for key, value in backend.items():
            overrides.setdefault(key, value)
        runtime = Runtime(fast_settings(data or tmp_path / "data", **overrides))
        runtime.start()
        started.append(runtime)
        return runtime

    yield make
    for runtime in reversed(started):
        runtime.close()


@pytest.fixture
def runtime(runtime_factory: Callable[..., Runtime]) -> Runtime:
    """A started runtime on the test's backend."""
    return runtime_factory()


def status_of(runtime: Runtime, job_id: int) -> str:
    return runtime.app.get_job(job_id).status.value


def wait_for_status(runtime: Runtime, job_id: int, *statuses: str, timeout: float = 20.0) -> Any:
    """Wait until the job is in one of `statuses`; returns the job."""
    wait_until(lambda: status_of(runtime, job_id) in statuses, timeout)
    return runtime.app.get_job(job_id)
