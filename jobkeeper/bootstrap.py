"""The composition root: builds the store, views, broker, host and app from Settings."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from contextlib import contextmanager
import socket
import threading
import uuid
from typing import Any, cast

import dramatiq
import pykka

from eventsourcing.utils import get_topic

from jobkeeper.actors import liveness
from jobkeeper.actors.host import STOP_TOPICS, JobHost, poke, poke_listener
from jobkeeper.actors.job_actor import RunSettings
from jobkeeper.dispatch.broker import open_broker
from jobkeeper.dispatch.tasks import Dispatcher
from jobkeeper.domain.application import JobKeeper, Outcome
from jobkeeper.domain.errors import UserExistsError, UserNotFoundError
from jobkeeper.domain.job import SYSTEM
from jobkeeper.domain.tokens import CONFIGURED
from jobkeeper.domain.tokens import digest as token_digest
from jobkeeper.domain.lifecycle import LIVE, Status
from jobkeeper.kinds.registry import KindRegistry, default_registry
from jobkeeper.projections.feed import Feed, TopicFeed, WakeFeed
from jobkeeper.projections.projection import READ_MODELS, ViewRunner, Views
from jobkeeper.projections.queries import ReadSide
from jobkeeper.projections.store import SideTable, open_view_store
from jobkeeper.settings import Settings

log = logging.getLogger(__name__)

ADMIN = "admin"
ADMIN_TOKEN_FILE = "admin-token"
SETUP_LOCK = 0x6A6F626B  # any fixed number, shared by every jobkeeper process
ASK_TIMEOUT = 30.0


class Runtime:
    """Everything one process runs, wired from settings; `start` it, then `close` it.

    `run_jobs` hosts job actors and consumes the broker; `run_views` keeps the views.
    The embedded service does both; scaled mode splits them over processes.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        run_jobs: bool = True,
        run_views: bool = True,
        kinds: KindRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.run_jobs, self.run_views = run_jobs, run_views
        if not settings.database_url:
            settings.data.mkdir(parents=True, exist_ok=True)
        self.kinds = kinds or default_registry()
        with store_setup_lock(settings.store_env()):
            self.app = JobKeeper(settings.store_env(), validate_params=self.kinds.validate)
            self.view_store = open_view_store(
                settings.views_env(), READ_MODELS, side_tables=(cast(SideTable, liveness),)
            )
        self.feeds: list[Feed] = []
        self.view_runner: ViewRunner | None = None
        if run_views:
            self.view_runner = ViewRunner(self.app, Views(self.view_store))
            self.app.add_listener(self.view_runner.wake)
            self.feeds.append(WakeFeed(self.app, self.view_runner.wake))
        waiter = self.view_runner.wait if self.view_runner else None
        self.read = ReadSide(self.view_store, self.app.name, waiter)
        self.broker = open_broker(settings.broker_url, namespace=settings.queue)
        self.dispatcher = Dispatcher(self.broker, queue=settings.queue)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.host: pykka.ActorRef[Any] | None = None
        self.worker: dramatiq.Worker | None = None
        self.liveness: liveness.Liveness | None = None
        self.admin_token: str | None = None
        self.closing = threading.Event()  # set when close() begins: open event streams end

    def start(self) -> None:
        """Catch up the views, make sure `admin` exists, recover jobs, start working."""
        if self.view_runner is not None:
            self.view_runner.start()
        self.admin_token = self._bootstrap_admin()
        if self.run_jobs:
            self._start_jobs()
        for feed in self.feeds:
            feed.start()

    def _bootstrap_admin(self) -> str | None:
        """Make sure `admin` exists; on the first start, issue its token and return it (once).

        The token is also written to `admin-token` in the data folder, readable by its owner
        only. With JOBKEEPER_ADMIN_TOKEN set, that is the admin's token instead.
        """
        try:
            admin = self.app.get_user(ADMIN)
            created = False
        except UserNotFoundError:
            try:
                admin = self.app.create_user(name=ADMIN, role="admin", by=SYSTEM)
                created = True
            except UserExistsError:  # another process made it meanwhile
                admin = self.app.get_user(ADMIN)
                created = False
        chosen = self.settings.admin_token
        if chosen:
            recorded = admin.tokens.get(CONFIGURED[1])
            if recorded is None or recorded["digest"] != token_digest(chosen):
                label = "JOBKEEPER_ADMIN_TOKEN"
                self.app.issue_token(ADMIN, by=SYSTEM, label=label, chosen=chosen)
            return None
        if not created:
            return None
        issued = self.app.issue_token(ADMIN, by=SYSTEM, label="first start")
        self.settings.data.mkdir(parents=True, exist_ok=True)
        path = self.settings.data / ADMIN_TOKEN_FILE
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(issued.token + "\n")
        os.chmod(path, 0o600)
        return issued.token

    def _start_jobs(self) -> None:
        self.liveness = liveness.Liveness(
            self.app,
            self.view_store,
            self.read,
            worker_id=self.worker_id,
            timeout=self.settings.worker_timeout,
            dispatch=self.dispatcher.dispatch,
            has_room=self._host_has_room,
        )
        self.liveness.start()
        self.host = JobHost.start(
            self.app,
            self.kinds,
            worker_id=self.worker_id,
            max_running=self.settings.max_running,
            settings=RunSettings(
                checkpoint_interval=self.settings.checkpoint_interval,
                poll_interval=self.settings.poll_interval,
            ),
            dispatch=self.dispatcher.dispatch,
            lease_valid=self.liveness.lease_valid,
        )
        self.app.add_listener(poke_listener(self.host))
        host_ref = self.host
        topics = [get_topic(t) for t in STOP_TOPICS]
        self.feeds.append(TopicFeed(self.app, topics, lambda job: poke(host_ref, job)))
        host = self.host.proxy()
        self.dispatcher.launch = lambda job_id: host.launch(job_id).get(timeout=ASK_TIMEOUT)
        if self.settings.embedded_broker:
            self.recover()
        self.worker = dramatiq.Worker(self.broker, worker_threads=4)
        self.worker.start()

    def _host_has_room(self) -> bool:
        if self.host is None:
            return False
        return bool(self.host.proxy().has_room().get(timeout=ASK_TIMEOUT))

    def recover(self) -> list[int]:
        """Hand back jobs left live by a process that is gone, and dispatch every queued job.

        Only for the embedded mode, where this process is the only worker.
        """
        if self.view_runner is not None:
            self.view_runner.catch_up()
        recovered = []
        for row in self.read.jobs(phase="active", limit=10**9):
            job = self.app.get_job(row["id"])
            if job.status in LIVE and job.run_id is not None:
                self.app.requeue(job.number, job.run_id, "recovered after the service restarted")
                recovered.append(job.number)
                job = self.app.get_job(job.number)
            if job.status is Status.QUEUED:
                self.dispatcher.dispatch(job.number)
        if recovered:
            log.info("recovered %d jobs left running: %s", len(recovered), recovered)
        return recovered

    def submit(
        self,
        *,
        kind: str,
        params: dict[str, Any],
        owner: str,
        by: str,
        name: str | None = None,
        not_before: datetime | None = None,
        deadline: datetime | None = None,
    ) -> Outcome:
        """Submit a job and dispatch it."""
        outcome = self.app.submit(
            kind=kind, params=params, owner=owner, by=by, name=name,
            not_before=not_before, deadline=deadline,
        )  # fmt: skip
        self.dispatcher.dispatch(outcome.job.number, _delay_until(outcome.job.not_before))
        return outcome

    def resume(self, job_id: int, by: str) -> Outcome:
        """Resume a job and dispatch it."""
        return self._dispatching(self.app.resume(job_id, by))

    def restart(self, job_id: int, by: str) -> Outcome:
        """Restart a job and dispatch it."""
        return self._dispatching(self.app.restart(job_id, by))

    def _dispatching(self, outcome: Outcome) -> Outcome:
        if outcome.changed and outcome.job.status is Status.QUEUED:
            self.dispatcher.dispatch(outcome.job.number, _delay_until(outcome.job.not_before))
        return outcome

    def close(self, timeout: float = 10.0) -> None:
        """Checkpoint live jobs and hand them back, then stop every thread."""
        self.closing.set()
        if self.host is not None:
            try:
                left = self.host.proxy().leave_all("the worker is shutting down", timeout).get(
                    timeout=timeout + 5
                )
                if left:
                    log.info("handed back %d live jobs: %s", len(left), left)
            except pykka.Timeout:
                log.warning("live jobs did not checkpoint in time; recovery will resume them")
        if self.worker is not None:
            self.worker.stop(timeout=int(timeout * 1000))
        if self.host is not None:
            self.host.stop(timeout=5)
        if self.liveness is not None:
            self.liveness.stop()
            self.liveness.forget()
        for feed in self.feeds:
            feed.stop()
        self.broker.close()
        if self.view_runner is not None:
            self.view_runner.stop()
        self.app.close()


@contextmanager
def store_setup_lock(env: dict[str, str]) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while tables are created, so processes starting
    together do not race on the same DDL; also create the schema the settings name."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    from psycopg import sql

    with _connect_postgres(env) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            if env.get("POSTGRES_SCHEMA"):
                statement = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
                connection.execute(statement.format(sql.Identifier(env["POSTGRES_SCHEMA"])))
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))


def open_app(settings: Settings) -> JobKeeper:
    """The application alone, on the store the settings name (for operators' commands)."""
    if not settings.database_url:
        settings.data.mkdir(parents=True, exist_ok=True)
    with store_setup_lock(settings.store_env()):
        return JobKeeper(settings.store_env())


def _connect_postgres(env: dict[str, str]) -> Any:
    """A connection (autocommit) to the PostgreSQL database of the store settings `env`."""
    import psycopg

    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
        autocommit=True,
    )


class ServiceError(RuntimeError):
    """Raised when the database or the broker cannot be reached; the message is one line."""


def check_services(settings: Settings, *, broker: bool = True) -> None:
    """Connect to the database (and the broker) the settings name, or raise ServiceError."""
    env = settings.store_env()
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        import psycopg

        try:
            _connect_postgres(env).close()
        except psycopg.Error as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ServiceError(f"cannot reach the database: {first}") from None
    if broker:
        _check_broker(settings)
    if settings.redis_url:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        try:
            client.ping()
        except redis.RedisError as error:
            raise ServiceError(f"cannot reach JOBKEEPER_REDIS_URL {settings.redis_url}: {error}") from None
        finally:
            client.close()


def _check_broker(settings: Settings) -> None:
    broker = open_broker(settings.broker_url, namespace=settings.queue)
    try:
        ping = getattr(broker, "client", None)
        if ping is not None:
            ping.ping()
        elif hasattr(broker, "connection"):
            broker.connection  # noqa: B018  (opens the AMQP connection)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ServiceError(f"cannot reach the broker {settings.broker_url}: {first}") from None
    finally:
        broker.close()


def _delay_until(moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


__all__ = ["ADMIN", "SYSTEM", "Runtime"]
