"""Domain errors become HTTP errors here, once; every error answers JSON {title, description}."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from typing import Any

import eventsourcing.persistence
import falcon
import orjson
import psycopg
import redis

from jobkeeper.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidJobError,
    InvalidUserError,
    JobNotFoundError,
    KeyInFlightError,
    KeyReusedError,
    ReplayedError,
    TransitionError,
    UserExistsError,
    UserNotFoundError,
)
from jobkeeper.http.ui.render import error_page, wants_page

log = logging.getLogger(__name__)
STATUS_LINE = re.compile(r"^[0-9]{3} ")

STATUS_OF: dict[type[Exception], tuple[str, str]] = {
    JobNotFoundError: (falcon.HTTP_404, "Job not found"),
    UserNotFoundError: (falcon.HTTP_404, "User not found"),
    TransitionError: (falcon.HTTP_409, "Command not allowed"),
    InvalidJobError: (falcon.HTTP_400, "Invalid job"),
    InvalidUserError: (falcon.HTTP_400, "Invalid user"),
    UserExistsError: (falcon.HTTP_409, "User exists"),
    ConflictError: (falcon.HTTP_409, "Conflict"),
    ForbiddenError: (falcon.HTTP_403, "Forbidden"),
    KeyReusedError: (falcon.HTTP_422, "Idempotency key reused"),
    KeyInFlightError: (falcon.HTTP_409, "Request in progress"),
}
STATUS_BY_NAME = {error.__name__: answer for error, answer in STATUS_OF.items()}

UNAVAILABLE: tuple[type[Exception], ...] = (
    eventsourcing.persistence.OperationalError,  # the stores' own, SQLite and PostgreSQL
    eventsourcing.persistence.InterfaceError,
    psycopg.OperationalError,  # also the pool's timeout waiting for a connection
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    redis.ConnectionError,
    redis.TimeoutError,
)
"""What a server the service needs raises when it is down, full or read-only: 503."""
RETRY_AFTER = "3"  # seconds; about how long a connection attempt is allowed to take
WARN_EVERY = 10.0  # seconds between two warnings about the same kind of outage
_warned: dict[str, float] = {}


def domain_error(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    """Answer a domain error with its status; the error's message is the description. An
    error given again for an idempotency key answers as the first time, and says so."""
    if isinstance(ex, ReplayedError):
        status, title = STATUS_BY_NAME.get(ex.error, (falcon.HTTP_409, "Conflict"))
        headers = {"Idempotent-Replayed": "true"}
        raise falcon.HTTPError(status, title=title, description=str(ex), headers=headers)
    status, title = next(STATUS_OF[c] for c in type(ex).__mro__ if c in STATUS_OF)
    raise falcon.HTTPError(status, title=title, description=str(ex))


def unexpected_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    """Log what no input should ever cause, and answer a JSON 500."""
    log.error("unexpected error on %s %s", req.method, req.path, exc_info=ex)
    raise falcon.HTTPInternalServerError(
        title="Internal error", description="an unexpected error occurred; it has been logged"
    )


def unavailable_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    """Answer 503 with Retry-After while a server the request needs does not answer (or its
    disk is full or read-only), saying which; a store's transaction is all or nothing, so a
    request answered so recorded nothing, or (a connection lost while committing) all of it."""
    description = unavailable_description(ex)
    now = time.monotonic()
    if now - _warned.get(type(ex).__name__, 0.0) >= WARN_EVERY:
        _warned[type(ex).__name__] = now
        log.warning("answering 503 on %s %s: %s", req.method, req.path, description)
    raise falcon.HTTPServiceUnavailable(
        title="Service unavailable", description=description, retry_after=int(RETRY_AFTER)
    )


def unavailable_description(ex: Exception) -> str:
    """What is unavailable, in a sentence that says what to do."""
    text = str(ex).strip()
    reason = text.splitlines()[0] if text else type(ex).__name__
    lowered = reason.lower()
    if "disk is full" in lowered or "no space" in lowered:
        return (
            f"the data folder's disk is full ({reason}): nothing of this request was "
            "recorded; it is accepted again once space is freed"
        )
    if any(word in lowered for word in ("readonly", "read-only", "disk i/o error")):
        return (
            f"the data files cannot be written ({reason}): nothing of this request was "
            "recorded; it is accepted again once they are writable"
        )
    if isinstance(ex, redis.RedisError):
        return f"Redis does not answer ({reason}); try again in a few seconds"
    return (
        f"the database does not answer ({reason}); try again in a few seconds (a retry "
        "with the same Idempotency-Key cannot record a command twice)"
    )


def route_not_found(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    """Say which path matched nothing (ids out of range match nothing too)."""
    raise falcon.HTTPNotFound(title="Not found", description=f"there is nothing at {req.path}")


def serialize(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Write every HTTP error as JSON, whatever the client accepts."""
    title = STATUS_LINE.sub("", error.title or str(error.status))  # "405 Method Not Allowed"
    description = error.description or f"{title}: {req.method} {req.path}"
    if wants_page(req):
        error_page(resp, str(error.status), title, description)
        return
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps({"title": title, "description": description})


def add_error_handling(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """Register the catch-all, each domain error's handler, and the JSON error serializer."""
    app.add_error_handler(Exception, unexpected_error)
    app.add_error_handler(falcon.HTTPRouteNotFound, route_not_found)
    for error_class in (*STATUS_OF, ReplayedError):
        app.add_error_handler(error_class, domain_error)
    for unavailable in UNAVAILABLE:
        app.add_error_handler(unavailable, unavailable_error)
    app.set_error_serializer(serialize)
