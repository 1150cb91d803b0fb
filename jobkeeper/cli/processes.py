"""The commands that start processes: `serve` (all in one process), or `api`, `worker` and
`projector`; and `users` on the store directly. Their flags are parsed here, as before."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit, urlunsplit

from jobkeeper.domain.errors import DomainError
from jobkeeper.domain.job import SYSTEM as OPERATOR
from jobkeeper.observability import logs
from jobkeeper.settings import Settings, SettingsError

if TYPE_CHECKING:
    from jobkeeper.application.app import JobKeeper

EXIT_USAGE = 2


class UsageError(Exception):
    """Raised when the command line or the environment asks for something unusable."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, not usage plus a message."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `jobkeeper` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (SettingsError, UsageError, DomainError) as error:
        print(f"jobkeeper: {error}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> Parser:
    parser = Parser(prog="jobkeeper", description="Runs long jobs and keeps their whole story.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the API, the views and the jobs in one process",
        description="Run the embedded service. Flags override the JOBKEEPER_* variables.",
    )
    _server_flags(serve, threads="request threads (JOBKEEPER_THREADS, 32)")
    serve.add_argument("--data", type=Path, help="data folder (JOBKEEPER_DATA, ./jobkeeper-data)")
    serve.add_argument(
        "--max-running", type=_number(1), help="jobs run at once (JOBKEEPER_MAX_RUNNING, 32)"
    )
    _log_level_flag(serve, http=True)
    _commands_flag(serve)
    serve.set_defaults(handler=_serve)

    api = commands.add_parser(
        "api",
        help="serve the API only (scaled mode: jobs run in `jobkeeper worker` processes)",
        description="Serve the API with several gunicorn processes; no jobs run here.",
    )
    _server_flags(api, threads="request threads per process (JOBKEEPER_THREADS, 32)")
    api.add_argument("--workers", type=_number(1), default=2, help="API processes (2)")
    _log_level_flag(api, http=True)
    _commands_flag(api)
    api.set_defaults(handler=_api)

    worker = commands.add_parser(
        "worker",
        help="run jobs delivered by the broker (scaled mode; start as many as you like)",
        description="Host job actors and consume the broker until SIGTERM or Ctrl-C.",
    )
    worker.add_argument(
        "--concurrency", type=_number(1), help="jobs run at once (JOBKEEPER_MAX_RUNNING, 32)"
    )
    _log_level_flag(worker)
    _commands_flag(worker)
    worker.set_defaults(handler=_worker)

    projector = commands.add_parser(
        "projector",
        help="keep the list views up to date (scaled mode)",
        description="Follow the event log and keep the views until SIGTERM or Ctrl-C.",
    )
    _log_level_flag(projector)
    projector.set_defaults(handler=_projector)

    users = commands.add_parser(
        "users", help="add users and issue tokens, on the store directly (for operators)"
    )
    users.add_argument("--data", type=Path, help="data folder (JOBKEEPER_DATA, ./jobkeeper-data)")
    user_commands = users.add_subparsers(title="users commands", metavar="COMMAND", required=True)
    add = user_commands.add_parser("add", help="create a user and print its first token")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="give the user the admin role")
    add.add_argument("--surname", default="")
    add.add_argument("--title", default="")
    add.set_defaults(handler=_users_add)
    token = user_commands.add_parser("token", help="issue another token for a user and print it")
    token.add_argument("name")
    token.add_argument("--label", default="", help="what the token is for")
    token.set_defaults(handler=_users_token)
    return parser


def _users_add(args: argparse.Namespace) -> int:
    app = _operator_app(args)
    role = "admin" if args.admin else "user"
    user = app.create_user(
        name=args.name, surname=args.surname, title=args.title, role=role, by=OPERATOR
    )
    issued = app.issue_token(user.name, by=OPERATOR, label="first token")
    print(f"created {role} {user.name} (id {user.number}); token (shown once):\n  {issued.token}")
    app.close()
    return 0


def _users_token(args: argparse.Namespace) -> int:
    app = _operator_app(args)
    issued = app.issue_token(args.name, by=OPERATOR, label=args.label)
    print(f"token {issued.token_id} for {args.name} (shown once):\n  {issued.token}")
    app.close()
    return 0


def _operator_app(args: argparse.Namespace) -> JobKeeper:
    from jobkeeper.bootstrap import open_app

    settings = Settings.from_env(data=args.data)
    if not settings.database_url:
        _check_data_folder(settings.data)
    _check_services(settings, broker=False)
    return open_app(settings)


def _session_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--session-hours",
        type=_hours,
        help="how long a web app session lasts (JOBKEEPER_SESSION_HOURS, 12)",
    )


def _hours(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of hours") from None
    if not (0 < value < 24 * 366):
        raise argparse.ArgumentTypeError("must be more than 0 and under a year of hours")
    return value


def _server_flags(parser: argparse.ArgumentParser, *, threads: str) -> None:
    """The flags of the processes that serve HTTP (`serve`, `api`)."""
    parser.add_argument("--host", help="address to listen on (JOBKEEPER_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=_number(0, 65535), help="port (JOBKEEPER_PORT, 8000)")
    parser.add_argument("--threads", type=_number(1), help=threads)
    _session_flag(parser)
    _max_streams_flag(parser)


def _log_level_flag(parser: argparse.ArgumentParser, *, http: bool = False) -> None:
    extra = "; debug adds gunicorn's own messages and the access log" if http else ""
    parser.add_argument(
        "--log-level",
        type=str.lower,
        help=f"debug, info, warning, error or critical (JOBKEEPER_LOG_LEVEL, info){extra}",
    )


def _number(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            upper = f" to {high}" if high is not None else " or more"
            raise argparse.ArgumentTypeError(f"{value} is out of range; use {low}{upper}")
        return value

    return parse


def _max_streams_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-streams-per-user",
        type=_number(1),
        help="event streams one user may hold open at once (JOBKEEPER_MAX_STREAMS_PER_USER, 20)",
    )


def _serve(args: argparse.Namespace) -> int:
    from jobkeeper import server

    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        data=args.data,
        max_running=args.max_running,
        threads=args.threads,
        log_level=args.log_level,
        commands=args.commands,
        session_hours=args.session_hours,
        max_streams_per_user=args.max_streams_per_user,
    )
    _check(settings)
    _check_commands(settings)
    _configure_logging(settings.log_level, settings.log_format)
    _check_services(settings)
    if settings.database_url:
        where = f"database: {_safe_url(settings.database_url)}"
    else:
        where = f"data: {settings.data}"

    def ready(urls: list[str]) -> None:
        print(f"jobkeeper listening on {', '.join(urls)} ({where})", flush=True)

    return server.serve(settings, on_ready=ready)


def _api(args: argparse.Namespace) -> int:
    from jobkeeper import server

    server.share_metrics()  # before the checks below import prometheus_client
    settings = Settings.from_env(
        host=args.host, port=args.port, threads=args.threads, log_level=args.log_level,
        commands=args.commands, max_streams_per_user=args.max_streams_per_user,
        session_hours=args.session_hours,
    )  # fmt: skip
    _check(settings)
    _check_commands(settings)
    _require_shared_broker(settings, "api")
    _configure_logging(settings.log_level, settings.log_format)
    _check_services(settings)

    def ready(urls: list[str]) -> None:
        listening = ", ".join(urls)
        print(f"jobkeeper api listening on {listening} ({args.workers} processes)", flush=True)

    return server.serve(settings, on_ready=ready, role="api", workers=args.workers)


def _worker(args: argparse.Namespace) -> int:
    settings = Settings.from_env(
        max_running=args.concurrency, log_level=args.log_level, commands=args.commands
    )
    _require_shared_broker(settings, "worker")
    _check_commands(settings)
    return _run_until_stopped(settings, "worker", run_jobs=True, run_views=False)


def _projector(args: argparse.Namespace) -> int:
    settings = Settings.from_env(log_level=args.log_level)
    return _run_until_stopped(settings, "projector", run_jobs=False, run_views=True)


def _run_until_stopped(settings: Settings, name: str, *, run_jobs: bool, run_views: bool) -> int:
    """Start a runtime without HTTP and run it until SIGTERM or SIGINT, then close it."""
    import signal
    import threading

    from jobkeeper.bootstrap import Runtime

    _configure_logging(settings.log_level, settings.log_format)
    _check_services(settings)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    runtime = Runtime(settings, run_jobs=run_jobs, run_views=run_views)
    runtime.start()
    from jobkeeper.server import announce_admin_token, settle_memory

    settle_memory()
    announce_admin_token(runtime.admin_token, settings)
    print(f"jobkeeper {name} running (pid {os.getpid()}, {runtime.worker_id})", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runtime.close()
    print(f"jobkeeper {name} stopped", flush=True)
    return 0


def _require_shared_broker(settings: Settings, command: str) -> None:
    if settings.embedded_broker:
        raise UsageError(
            f"`jobkeeper {command}` needs a shared broker: set JOBKEEPER_BROKER_URL to "
            "redis://host:6379/0 or amqp://user:password@host:5672/ (or use `jobkeeper serve`)"
        )


def _check_services(settings: Settings, *, broker: bool = True) -> None:
    from jobkeeper.bootstrap import ServiceError, check_services

    pika = logging.getLogger("pika")  # it logs each failed attempt with a traceback
    level, pika.level = pika.level, logging.CRITICAL
    try:
        check_services(settings, broker=broker)
    except ServiceError as error:
        raise UsageError(str(error)) from None
    finally:
        pika.setLevel(max(level, logging.WARNING))


def _commands_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--commands",
        help="the commands file of the `command` kind (JOBKEEPER_COMMANDS; none: no programs)",
    )


def _check_commands(settings: Settings) -> None:
    """Refuse to start on a commands file that cannot be used, naming its line and field."""
    if not settings.commands:
        return
    from jobkeeper.kinds.commands import CommandsFileError, load

    try:
        load(Path(settings.commands))
    except CommandsFileError as error:
        raise UsageError(str(error)) from None


def _check(settings: Settings) -> None:
    """Raise UsageError for what gunicorn or the store would only reject later, less clearly."""
    from jobkeeper import server

    if settings.log_level.lower() not in server.LEVELS:
        raise UsageError(
            f"log level {settings.log_level!r} is not one of {', '.join(server.LEVELS)}"
        )
    if not 0 <= settings.port <= 65535:
        raise UsageError(f"port {settings.port} is out of range; use 0 to 65535")
    if not settings.database_url:
        _check_data_folder(settings.data)
    try:
        server.probe_address(settings.host, settings.port)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"cannot listen on {settings.host}:{settings.port}: {reason}") from None


def _check_data_folder(data: Path) -> None:
    try:
        data.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"cannot use the data folder {str(data)!r}: {reason}") from None


def _configure_logging(level: str, fmt: str) -> None:
    logs.configure(level, fmt)


def _safe_url(url: str) -> str:
    """`url` without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_store(settings: Settings) -> None:
    """Raise UsageError unless the store that `settings` name can be used (operators' tools)."""
    if not settings.database_url:
        _check_data_folder(settings.data)
    _check_services(settings, broker=False)
