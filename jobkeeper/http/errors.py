"""Domain errors become HTTP errors here, once; every error answers JSON {title, description}."""

from __future__ import annotations

import logging
import re
from typing import Any

import falcon
import orjson

from jobkeeper.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidJobError,
    InvalidUserError,
    JobNotFoundError,
    TransitionError,
    UserExistsError,
    UserNotFoundError,
)
from jobkeeper.http.ui.render import error_page, wants_page

log = logging.getLogger(__name__)
STATUS_LINE = re.compile(r"^[0-9]{3} ")

STATUS_OF: dict[type, tuple[str, str]] = {
    JobNotFoundError: (falcon.HTTP_404, "Job not found"),
    UserNotFoundError: (falcon.HTTP_404, "User not found"),
    TransitionError: (falcon.HTTP_409, "Command not allowed"),
    InvalidJobError: (falcon.HTTP_400, "Invalid job"),
    InvalidUserError: (falcon.HTTP_400, "Invalid user"),
    UserExistsError: (falcon.HTTP_409, "User exists"),
    ConflictError: (falcon.HTTP_409, "Conflict"),
    ForbiddenError: (falcon.HTTP_403, "Forbidden"),
}


def domain_error(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    """Answer a domain error with its status; the error's message is the description."""
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
    for error_class in STATUS_OF:
        app.add_error_handler(error_class, domain_error)
    app.set_error_serializer(serialize)
