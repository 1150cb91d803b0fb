"""The `jobkeeper` command: `serve` runs the embedded service (more subcommands to come)."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

from jobkeeper.settings import Settings, SettingsError

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
    except (SettingsError, UsageError) as error:
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
    serve.add_argument("--host", help="address to listen on (JOBKEEPER_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=_number(0, 65535), help="port (JOBKEEPER_PORT, 8000)")
    serve.add_argument("--data", type=Path, help="data folder (JOBKEEPER_DATA, ./jobkeeper-data)")
    serve.add_argument(
        "--max-running", type=_number(1), help="jobs run at once (JOBKEEPER_MAX_RUNNING, 32)"
    )
    serve.add_argument("--threads", type=_number(1), help="request threads (JOBKEEPER_THREADS, 32)")
    serve.add_argument(
        "--log-level",
        type=str.lower,
        help="debug, info, warning, error or critical (JOBKEEPER_LOG_LEVEL, info); "
        "debug adds gunicorn's own messages and the access log",
    )
    serve.set_defaults(handler=_serve)
    # Later: `api`, `worker`, `projector` and `users` for the scaled mode.
    return parser


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


def _serve(args: argparse.Namespace) -> int:
    from jobkeeper import server

    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        data=args.data,
        max_running=args.max_running,
        threads=args.threads,
        log_level=args.log_level,
    )
    _check(settings)
    _configure_logging(settings.log_level)
    if settings.database_url:
        where = f"database: {_safe_url(settings.database_url)}"
    else:
        where = f"data: {settings.data}"

    def ready(urls: list[str]) -> None:
        print(f"jobkeeper listening on {', '.join(urls)} ({where})", flush=True)

    return server.serve(settings, on_ready=ready)


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


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if level.lower() != "debug":  # the broker's start and stop notices are noise here
        logging.getLogger("dramatiq").setLevel(
            max(logging.WARNING, logging.getLevelName(level.upper()))
        )


def _safe_url(url: str) -> str:
    """`url` without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
