"""Log lines as text or as one JSON object per line, with the context they happened in.

The context (a request's id, method, route and user; a job's id, run and worker) is kept in
a context variable, so every line logged while serving a request or running a job's step
carries it without each call passing it. Nothing puts a token in the context or a message:
requests are logged by their route template, never their raw path or headers.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"
ACCESS_LOGGER = "jobkeeper.access"
"""One line per request: at INFO, shown with the JSON format (or at debug level)."""
FIELDS = (
    "request_id", "method", "route", "status", "duration_ms", "user", "job_id", "run_id",
    "worker",
)  # fmt: skip
"""The context fields a line may carry, in the order they are written."""

context_var: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "jobkeeper_log_context", default=None
)


def current() -> dict[str, Any]:
    """The context of what this thread is doing now (a copy)."""
    return dict(context_var.get() or {})


def bind(**fields: Any) -> None:
    """Add `fields` to the current context (those that are None are left out)."""
    given = {k: v for k, v in fields.items() if v is not None}
    context_var.set({**(context_var.get() or {}), **given})


@contextmanager
def context(**fields: Any) -> Iterator[None]:
    """A context of its own for the duration of the block (a request, a job's step)."""
    token = context_var.set({k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        context_var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context
    fields that apply (also those given with `extra=`), and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        bound = current()
        for name in FIELDS:
            value = getattr(record, name, bound.get(name))
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """The usual text line, with the request id or job id when there is one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        bound = current()
        tags = [
            f"{name}={value}"
            for name in ("request_id", "job_id", "run_id")
            if (value := getattr(record, name, bound.get(name))) is not None
        ]
        return f"{text} [{' '.join(tags)}]" if tags else text


def configure(level: str, fmt: str = "text") -> None:
    """Send every log line to stderr at `level`, formatted as `fmt` (text or json)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = max(logging.WARNING, logging.getLevelName(level.upper()))
    if level.lower() != "debug":  # the broker's start and stop notices are noise here
        logging.getLogger("dramatiq").setLevel(quiet)
    access = logging.INFO if fmt == "json" or level.lower() == "debug" else logging.WARNING
    logging.getLogger(ACCESS_LOGGER).setLevel(access)
