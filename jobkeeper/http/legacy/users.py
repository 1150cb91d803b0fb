"""The older service's user and log paths: list and create users, read log lines."""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import urlencode

import falcon

from jobkeeper.domain.errors import InvalidJobError, UserNotFoundError
from jobkeeper.http.auth import caller
from jobkeeper.http.consistency import await_latest, tell_position
from jobkeeper.http.legacy.forms import read_form
from jobkeeper.http.legacy.models import LegacyAfterQuery, LegacyUserCreation
from jobkeeper.http.legacy.representation import legacy_log_line, legacy_user
from jobkeeper.http.paging import split_page
from jobkeeper.http.port import Service
from jobkeeper.http.v1.representation import user_from_aggregate, user_from_row
from jobkeeper.http.v1.users import USERS_PATH
from jobkeeper.http.validation import read_query


def owner_name(service: Service, user: int | str) -> str:
    """The name of the user a legacy body names: an id, or a name (looked up as a name first,
    then, when made of digits, as an id); InvalidJobError (400) when there is no such user."""
    if isinstance(user, str):
        with suppress(UserNotFoundError):
            return service.app.get_user(user).name
    if isinstance(user, int) or user.isdigit():
        with suppress(UserNotFoundError):
            return service.app.get_user_by_number(int(user)).name
    raise InvalidJobError(f"there is no user {user!r} (by name or id); create the user first")


def next_link(req: falcon.Request, resp: falcon.Response, limit: int, after: int) -> None:
    """Point to the next page with a `Link` header (rel=next)."""
    resp.append_link(f"{req.path}?{urlencode({'limit': limit, 'after': after})}", "next")


class LegacyUserList:
    """GET /api/userlist/ lists users (id, name, surname, title); POST creates one (201)."""

    def __init__(self, service: Service, max_body: int) -> None:
        self.service, self.max_body = service, max_body

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The users in creation order, `limit` at a time."""
        query = read_query(req, LegacyAfterQuery)
        await_latest(self.service)
        rows = self.service.views.users(after=query.after, limit=query.limit + 1)
        page, more = split_page(rows, query.limit)
        if more:
            next_link(req, resp, query.limit, page[-1]["id"])
        resp.media = [legacy_user(user_from_row(row)) for row in page]

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a user with a unique name (409 when taken)."""
        body = read_form(req, LegacyUserCreation, self.max_body)
        user = self.service.app.create_user(
            name=body.name, surname=body.surname, title=body.title, by=caller(req)
        )
        resp.status = falcon.HTTP_201
        resp.location = f"{USERS_PATH}/{user.name}"
        tell_position(resp, self.service.app.position())
        resp.media = legacy_user(user_from_aggregate(user))


class LegacyLogs:
    """GET /api/getlogs/{id} and /api/getalllogs/: log lines [{text, created}], oldest first."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: int | None = None) -> None:
        """The log lines, `limit` at a time; 404 for an unknown job. Reading writes nothing."""
        query = read_query(req, LegacyAfterQuery)
        if job_id is not None:
            self.service.app.check_job_exists(job_id)
        await_latest(self.service)
        rows = self.service.views.logs(job_id=job_id, after=query.after, limit=query.limit + 1)
        page, more = split_page(rows, query.limit)
        if more:
            next_link(req, resp, query.limit, page[-1]["id"])
        resp.media = [legacy_log_line(row) for row in page]
