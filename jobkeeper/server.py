"""The embedded service under gunicorn: one worker that builds, runs and closes the Runtime.

The master only binds the socket and watches the worker. Everything with threads or
connections (the store, the views, the in-process broker and the job host) is built in
the worker after the fork, and closed by the worker on its way out, so that live jobs
are checkpointed and handed back and continue after the next start.

The worker is gunicorn's asyncio (ASGI) worker around the WSGI app (http/asgi.py): the
connections live on the event loop, so idle, kept-alive and slowly sending clients and open
event streams cost no thread; each request runs in one of `threads` threads.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from gunicorn import glogging  # type: ignore[import-untyped]
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from gunicorn.asgi import protocol as asgi_protocol  # type: ignore[import-untyped]
from gunicorn.workers import gasgi  # type: ignore[import-untyped]

from jobkeeper.http.asgi import Bridge
from jobkeeper.observability import logs
from jobkeeper.settings import Settings

if TYPE_CHECKING:
    from jobkeeper.bootstrap import Runtime

log = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]
AppFactory = Callable[["Runtime", Settings], WSGIApp]
"""Builds the WSGI app around a started runtime."""

# The worker's main loop tells the master it is alive every second whatever its request
# threads do (open event streams included), so `TIMEOUT` only catches a stuck worker; a
# heartbeat thread covers the boot, when the views may take long to catch up.
TIMEOUT = 30
# An idle kept-alive connection is closed after KEEPALIVE seconds. It is far longer than
# clients keep theirs (httpx 5 s; requests and browsers reuse theirs for as long as the server
# lets them, checking first that it is still open), so the client is the side that lets an
# idle connection go and never sends on one the server is closing at that moment.
KEEPALIVE = 75
HEARTBEAT = 1.0
# On a graceful stop the worker lets requests in flight finish for `DRAIN` seconds, then
# checkpoints its live jobs within `CLOSE` seconds. The master waits `GRACEFUL` seconds in
# all before it kills the worker; the slack covers stopping the actors and the broker.
DRAIN = 5
CLOSE = 10.0
GRACEFUL = 30
# Threads waiting on sockets and SQLite win the GIL back sooner (bench/RESULTS.md, "The GIL").
SWITCH_INTERVAL = 0.001
# Short-lived objects die young instead of causing full collections that stop every thread
# (bench/RESULTS.md, "Garbage collection pauses").
GC_THRESHOLDS = (50_000, 20, 100)
# One worker holds the in-process broker and the job host: the signals that would add a
# worker, replace it beside the old one or re-exec the master are ignored in this mode.
IGNORED_MASTER_SIGNALS = (signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGUSR2)
LEVELS = ("debug", "info", "warning", "error", "critical")
METRICS_FOLDER_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it


class EventLoopWorker(gasgi.ASGIWorker):  # type: ignore[misc]
    """gunicorn's asyncio worker that, when it begins to drain, also closes the connections
    waiting idle for a request (as the thread worker did), so that a stop does not wait out
    the drain for kept-alive clients that have nothing more to ask."""

    def init_process(self) -> None:
        self.idle_candidates: weakref.WeakSet[Any] = weakref.WeakSet()
        track_connections()
        super().init_process()

    async def _shutdown(self) -> None:
        for connection in list(self.idle_candidates):
            if connection._awaiting_request and not connection._closed:
                connection._keepalive_timeout()  # closes it, as an expired keep-alive
        await super()._shutdown()


class TrackedProtocol(asgi_protocol.ASGIProtocol):  # type: ignore[misc]
    """gunicorn's connection, known to its worker while open."""

    def connection_made(self, transport: Any) -> None:
        self.worker.idle_candidates.add(self)
        super().connection_made(transport)


def track_connections() -> None:
    """Make the asyncio worker build TrackedProtocol connections. It reaches into gunicorn:
    its worker builds connections from the module's `ASGIProtocol` name and keeps no list of
    them, which a drain needs to close the idle ones (tests/e2e/test_restarts.py)."""
    gasgi.ASGIProtocol = TrackedProtocol


def create_app(runtime: Runtime, settings: Settings) -> WSGIApp:
    """The Falcon app of the API, around a started runtime, with the settings' rate limits
    (counted in Redis when JOBKEEPER_REDIS_URL is set, so API processes share them)."""
    from jobkeeper.http.app import create_app as create_http_app
    from jobkeeper.http.rate_limits import RateLimits

    limits = RateLimits(
        settings.rate_commands,
        settings.rate_reads,
        settings.redis_url or "memory://",
        namespace=settings.queue,
    )
    return create_http_app(
        runtime,
        max_body=settings.max_body,
        rate_limits=limits,
        session_seconds=settings.session_hours * 3600,
        session_secret=settings.session_secret,
        max_streams_per_user=settings.max_streams_per_user,
        stream_counter=(settings.redis_url, settings.queue) if settings.redis_url else None,
        metrics_token=settings.metrics_token,
    )


class JsonGunicornLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger writing its own lines (warnings, "Booting worker", the access log
    when debugging) as the JSON lines of the rest of the log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in (*self.error_log.handlers, *self.access_log.handlers):
            handler.setFormatter(logs.JsonFormatter())


def bind_address(host: str, port: int) -> str:
    """The gunicorn bind string of `host` and `port` (IPv6 hosts in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def probe_address(host: str, port: int) -> None:
    """Raise OSError if `host`:`port` cannot be listened on (in use, unknown host, ...)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
        probe.bind(address)


class EmbeddedServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running the whole embedded service in one worker (role "serve"), or only the
    API in several worker processes (role "api", scaled mode)."""

    def __init__(
        self,
        settings: Settings,
        *,
        app_factory: AppFactory | None = None,
        on_ready: Callable[[list[str]], None] | None = None,
        role: str = "serve",
        workers: int = 1,
    ) -> None:
        self.settings, self.on_ready = settings, on_ready
        self.role, self.workers = role, workers if role == "api" else 1
        self.app_factory = app_factory or create_app
        self.runtime: Runtime | None = None
        self.worker: Any = None
        super().__init__(prog="jobkeeper")

    def load_config(self) -> None:
        level = self.settings.log_level.lower()
        options: dict[str, Any] = {
            "bind": [bind_address(self.settings.host, self.settings.port)],
            "workers": self.workers,
            "worker_class": EventLoopWorker,
            "asgi_loop": "asyncio",
            "keepalive": KEEPALIVE,
            "preload_app": False,
            "max_requests": 0,  # a recycled worker would restart every job
            "timeout": TIMEOUT,
            "graceful_timeout": GRACEFUL,
            "proc_name": "jobkeeper",
            # gunicorn's control socket is one path per user and can change the worker count.
            "control_socket_disable": True,
            # gunicorn's own chatter and the access log only when debugging.
            "loglevel": level if level in ("debug", "error", "critical") else "warning",
            "accesslog": "-" if level == "debug" else None,
            "logger_class": (
                JsonGunicornLogger if self.settings.log_format == "json" else glogging.Logger
            ),
            "when_ready": self._when_ready,
            "post_fork": self._post_fork,
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
            "child_exit": self._child_exit,
        }
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self) -> Bridge:
        """Build and start the runtime (in the worker, after the fork) and wrap it in the app."""
        from jobkeeper.bootstrap import Runtime

        with _heartbeat(self.worker):
            embedded = self.role == "serve"
            self.runtime = Runtime(self.settings, run_jobs=embedded, run_views=embedded)
            self.runtime.start()
            announce_admin_token(self.runtime.admin_token, self.settings)
            return Bridge(
                self.app_factory(self.runtime, self.settings),
                self.settings.threads,
                stopping=self._stopping,
            )

    def _stopping(self) -> bool:
        """Whether the worker drains: then open event streams end (clients reconnect)."""
        return self.worker is not None and not self.worker.alive

    # gunicorn hooks.

    def _when_ready(self, arbiter: Any) -> None:
        if self.role == "serve":
            for number in IGNORED_MASTER_SIGNALS:
                signal.signal(number, signal.SIG_IGN)
        if self.on_ready is not None:
            self.on_ready([str(listener) for listener in arbiter.LISTENERS])

    def _post_fork(self, arbiter: Any, worker: Any) -> None:
        self.worker = worker
        sys.setswitchinterval(SWITCH_INTERVAL)

    def _post_worker_init(self, worker: Any) -> None:
        settle_memory()
        # This changes the worker's copy of the settings only: the worker drains for
        # DRAIN seconds and keeps the rest of the master's GRACEFUL for closing the runtime.
        worker.cfg.set("graceful_timeout", DRAIN)

    def _child_exit(self, arbiter: Any, worker: Any) -> None:
        if os.environ.get(METRICS_FOLDER_ENV):
            from jobkeeper.observability.metrics import process_gone

            process_gone(worker.pid)

    def _worker_exit(self, arbiter: Any, worker: Any) -> None:
        # gunicorn also calls this hook in the master for a worker that vanished; only
        # the worker has a runtime.
        runtime, self.runtime = self.runtime, None
        if runtime is None:
            return
        # A second Ctrl-C (or the master's SIGQUIT) would raise SystemExit in the middle of
        # the checkpointing; the master still kills the worker after GRACEFUL seconds.
        for number in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
        log.info("closing: checkpointing live jobs and handing them back")
        try:
            runtime.close(timeout=CLOSE)
        except Exception:
            log.exception("could not close cleanly; the next start recovers the live jobs")


def settle_memory() -> None:
    """Once a process has started: what was built so far lives as long as the process, so
    keep it out of the collector's way, and collect the young far less often than Python's
    default (see GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def announce_admin_token(token: str | None, settings: Settings) -> None:
    """Print the admin's token the one time it is made (the first start of an empty store)."""
    if token is None:
        return
    print(
        f"created user admin; its token (shown once, also in {settings.data / 'admin-token'}):\n"
        f"  {token}",
        flush=True,
    )


@contextmanager
def _heartbeat(worker: Any) -> Iterator[None]:
    """Tell the master the worker is alive while a long step (the boot) runs."""
    if worker is None:
        yield
        return
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT):
            worker.notify()

    thread = threading.Thread(target=beat, name="boot-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(HEARTBEAT * 2)


def share_metrics() -> None:
    """Let the API processes add up their metrics: name a folder (a fresh temporary one
    unless PROMETHEUS_MULTIPROC_DIR names one) and empty it. This runs in the master before
    anything imports prometheus_client, which reads the variable once, at its import."""
    if "prometheus_client" in sys.modules and not os.environ.get(METRICS_FOLDER_ENV):
        log.warning("metrics were set up before their folder: each process counts its own")
        return
    folder = os.environ.get(METRICS_FOLDER_ENV)
    if not folder:
        folder = tempfile.mkdtemp(prefix="jobkeeper-metrics-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):  # left by the processes of an earlier start
            os.remove(os.path.join(folder, name))
    os.environ[METRICS_FOLDER_ENV] = folder


def serve(
    settings: Settings,
    *,
    app_factory: AppFactory | None = None,
    on_ready: Callable[[list[str]], None] | None = None,
    role: str = "serve",
    workers: int = 1,
) -> int:
    """Run the embedded service until it is stopped.

    gunicorn ends both the master and the worker with SystemExit (the worker after its
    `worker_exit` hook); it is left to propagate, so nothing runs after this in the worker.
    """
    if role == "api":
        share_metrics()
    EmbeddedServer(
        settings, app_factory=app_factory, on_ready=on_ready, role=role, workers=workers
    ).run()
    return 0


__all__ = ["LEVELS", "EmbeddedServer", "bind_address", "create_app", "probe_address", "serve"]
