"""The composition root: builds the store, views, broker, host and app from Settings.

It builds, starts and closes; every use case lives in the application.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import dramatiq
import pykka
from eventsourcing.utils import get_topic

from jobkeeper.actors import liveness
from jobkeeper.actors.host import STOP_TOPICS, JobHost, poke, poke_listener
from jobkeeper.actors.job_actor import RunSettings
from jobkeeper.application.app import ADMIN, JobKeeper
from jobkeeper.application.audit import Auditor
from jobkeeper.application.ports import Undispatched
from jobkeeper.application.readiness import Check, Lag, Readiness, lag_check, views_lag
from jobkeeper.dispatch.broker import BrokerUnreachableError, check_broker, open_broker
from jobkeeper.dispatch.tasks import JobQueue, Launched, RunJobTask
from jobkeeper.domain.errors import DomainError
from jobkeeper.domain.job import SYSTEM
from jobkeeper.kinds.command import CommandKind
from jobkeeper.kinds.registry import KindRegistry, default_registry
from jobkeeper.observability.metrics import RequestCounts, Snapshot, count_verified_rows
from jobkeeper.projections.lock import ViewsLock
from jobkeeper.projections.maintenance import ViewsCheck
from jobkeeper.projections.maintenance import check as check_views
from jobkeeper.projections.projector import VIEWS, Projector, ViewProjection
from jobkeeper.projections.store import SideTable, open_view_store
from jobkeeper.projections.views import Views
from jobkeeper.settings import ADMIN_TOKEN_FILE, Settings
from jobkeeper.stores.feeds import Feed, TopicFeed, WakeFeed
from jobkeeper.stores.heads import latest_events
from jobkeeper.stores.locks import process_lock
from jobkeeper.stores.postgres import (
    DatabaseUnreachableError,
    bound_pool_waits,
    check_database,
    setup_lock,
)
from jobkeeper.stores.redis import RedisUnreachableError, check_redis

log = logging.getLogger(__name__)

ASK_TIMEOUT = 30.0
REBUILD_WAIT = 3600.0  # seconds a process that keeps the views waits for a running rebuild


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
        if not settings.database_url:
            settings.data.mkdir(parents=True, exist_ok=True)
        self.kinds = kinds or default_registry(settings.commands)
        self.broker = open_broker(settings.broker_url, namespace=settings.queue)
        self.jobs = JobQueue(self.broker, settings.queue)
        with setup_lock(settings.store_env()):
            self.app = JobKeeper(
                settings.store_env(),
                dispatcher=self.jobs,
                validate_params=self.kinds.validate,
                snapshot_interval=settings.snapshot_interval,
                counter=RequestCounts(kind.name for kind in self.kinds),
            )
            self.view_store = open_view_store(
                settings.views_env(), VIEWS, side_tables=(cast(SideTable, liveness),)
            )
        bound_pool_waits(self.app.recorder, settings.store_env())
        bound_pool_waits(self.view_store, settings.views_env())
        self.feeds: list[Feed] = []
        self.projector: Projector | None = None
        if run_views:
            lock = process_lock(settings.views_env(), "projector")
            self.projector = Projector(self.app, ViewProjection(self.view_store), lock=lock)
            self.app.add_listener(self.projector.wake)
            self.feeds.append(WakeFeed(self.app, self.projector.wake))
        waiter = self.projector.wait if self.projector else None
        self.views = Views(self.view_store, self.app.name, waiter)
        self.audit = open_auditor(self.app, settings)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.host: pykka.ActorRef[Any] | None = None
        self.worker: dramatiq.Worker | None = None
        self.liveness: liveness.Liveness | None = None
        if run_jobs:
            self._build_jobs()
        self.admin_token: str | None = None
        self.views_lock = ViewsLock(self.view_store)  # held while this process keeps the views
        self.closing = threading.Event()  # set when close() begins: open event streams end
        self.readiness = Readiness(self._readiness_checks())

    def _readiness_checks(self) -> dict[str, Check]:
        settings = self.settings
        checks: dict[str, Check] = {
            "event store": self._event_store_answers,
            "views": lag_check(self.views_lag, settings.ready_max_lag),
        }
        if settings.broker_url != "memory://":
            checks["broker"] = lambda: check_broker(settings.broker_url, namespace=settings.queue)
        if settings.redis_url:
            checks["redis"] = lambda: check_redis(settings.redis_url)
        return checks

    def _event_store_answers(self) -> None:
        self.app.position()  # raises when the store does not answer

    def metrics_snapshot(self) -> Snapshot:
        """What the views say now, for the metrics' gauges."""
        now = self.app.clock.now()
        lag = self.views_lag()
        views = self.views
        return Snapshot(
            jobs=views.job_counts(),
            waiting=views.waiting_jobs(now.isoformat()),
            live_workers=views.live_workers(time.time() - self.settings.worker_timeout),
            running_by_worker=views.running_by_worker(),
            lag_events=lag.events,
            lag_seconds=lag.seconds,
        )

    def verify_views(self) -> ViewsCheck:
        """Compare every view row with a replay of the log; count the rows in the metrics."""
        found = check_views(self.app, self.view_store)
        count_verified_rows(found.compared)
        return found

    def views_lag(self) -> Lag:
        """How far the views are behind the event log now."""
        head, applied = self.app.position(), self.views.position()
        return views_lag(head, applied, self.app.event_time_after, self.app.clock.now())

    def _build_jobs(self) -> None:
        self.liveness = liveness.Liveness(
            self.app,
            self.view_store,
            self.views,
            worker_id=self.worker_id,
            timeout=self.settings.worker_timeout,
            dispatcher=self.jobs,
            has_room=self._host_has_room,
            live_runs=self._host_live_runs,
        )
        RunJobTask(self.broker, self.jobs, self._launch)
        self.worker = dramatiq.Worker(self.broker, worker_threads=4)

    def _start_host(self, lease_valid: Callable[[], bool]) -> pykka.ActorRef[Any]:
        run_settings = RunSettings(
            checkpoint_interval=self.settings.checkpoint_interval,
            poll_interval=self.settings.poll_interval,
        )
        host = JobHost.start(
            self.app,
            self.kinds,
            worker_id=self.worker_id,
            max_running=self.settings.max_running,
            settings=run_settings,
            lease_valid=lease_valid,
        )
        self.app.add_listener(poke_listener(host))
        for kind in self.kinds:
            if isinstance(kind, CommandKind):
                kind.frozen.watch(self._job_state, self.settings.poll_interval)
        topics = [get_topic(t) for t in STOP_TOPICS]
        self.feeds.append(TopicFeed(self.app, topics, lambda job: poke(host, job)))
        return host

    def _job_state(self, job_id: int) -> tuple[str, int] | None:
        try:
            job = self.app.get_job(job_id)
        except DomainError:
            return None
        return job.status.value, job.attempt

    def _launch(self, job_id: int) -> Launched:
        if self.host is None:
            raise RuntimeError("this process has no job host to run jobs")
        result: Launched = self.host.proxy().launch(job_id).get(timeout=ASK_TIMEOUT)
        return result

    def _host_has_room(self) -> bool:
        if self.host is None:
            return False
        return bool(self.host.proxy().has_room().get(timeout=ASK_TIMEOUT))

    def _host_live_runs(self) -> set[str]:
        if self.host is None:
            return set()
        return set(self.host.proxy().live_runs().get(timeout=ASK_TIMEOUT))

    def start(self) -> None:
        """Catch up the views, make sure `admin` exists, recover jobs, start working."""
        if self.projector is not None:
            self.views_lock.hold(exclusive=False, wait=REBUILD_WAIT)  # a rebuild may be running
            self.projector.start()
        issued = self.app.ensure_admin(self.settings.admin_token)
        if issued is not None:
            write_admin_token(self.settings.data, issued.token)
            self.admin_token = issued.token
        if self.liveness is not None:
            self.liveness.start()
            self.host = self._start_host(self.liveness.lease_valid)
        if self.worker is not None:
            if self.settings.embedded_broker:  # this process is the only worker
                self.recover()
            self.worker.start()
        for feed in self.feeds:
            feed.start()

    def recover(self) -> list[int]:
        """Hand back jobs left live by a process that is gone, and dispatch every queued job."""
        if self.projector is not None:
            self.projector.catch_up()
        active = (row[0] for row in self.views.stored_jobs(("id",), phase="running", limit=10**9))
        recovered = self.app.recover(active)
        if recovered:
            log.info("recovered %d jobs left running: %s", len(recovered), recovered)
        return recovered

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
            for kind in self.kinds:
                if isinstance(kind, CommandKind):
                    kind.frozen.close()
        if self.liveness is not None:
            self.liveness.stop()
            self.liveness.forget()
        for feed in self.feeds:
            feed.stop()
        self.broker.close()
        if self.projector is not None:
            self.projector.stop()
        self.readiness.close()
        self.views_lock.release()
        self.view_store.close()
        self.app.close()


def write_admin_token(data: Path, token: str) -> None:
    """Keep the admin's first token in the data folder, readable by its owner only."""
    data.mkdir(parents=True, exist_ok=True)
    path = data / ADMIN_TOKEN_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    os.chmod(path, 0o600)


def open_auditor(app: JobKeeper, settings: Settings) -> Auditor:
    """The audit's checks and anchors over `app`'s event store."""
    return Auditor(app.recorder, app.mapper, latest_events(app.recorder), settings.audit_key)


def open_app(settings: Settings) -> JobKeeper:
    """The application alone, on the store the settings name (for operators' commands)."""
    if not settings.database_url:
        settings.data.mkdir(parents=True, exist_ok=True)
    with setup_lock(settings.store_env()):
        app = JobKeeper(
            settings.store_env(),
            dispatcher=Undispatched(),
            snapshot_interval=settings.snapshot_interval,
        )
    bound_pool_waits(app.recorder, settings.store_env())
    return app


class ServiceError(RuntimeError):
    """Raised when the database or the broker cannot be reached; the message is one line."""


def check_services(settings: Settings, *, broker: bool = True) -> None:
    """Connect to the database (and the broker, and Redis) the settings name, or raise
    ServiceError."""
    try:
        check_database(settings.store_env())
        if broker:
            check_broker(settings.broker_url, namespace=settings.queue)
        if settings.redis_url:
            check_redis(settings.redis_url)
    except (DatabaseUnreachableError, BrokerUnreachableError, RedisUnreachableError) as error:
        raise ServiceError(str(error)) from None


__all__ = ["ADMIN", "SYSTEM", "Runtime"]
