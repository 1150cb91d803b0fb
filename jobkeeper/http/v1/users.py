"""Users: list and create them, read one, and list a user's latest jobs."""

from __future__ import annotations

import falcon

from jobkeeper.http.auth import caller
from jobkeeper.http.consistency import await_position, tell_position
from jobkeeper.http.paging import split_page
from jobkeeper.http.port import Service
from jobkeeper.http.routing import API_V1
from jobkeeper.http.v1.models import UserCreation, UserJobsQuery, UserListQuery
from jobkeeper.http.v1.representation import (
    JOB_FIELDS,
    job_from_stored,
    new_token,
    user_from_aggregate,
    user_from_row,
)
from jobkeeper.http.validation import read_body, read_query

USERS_PATH = f"{API_V1}/users"
FIRST_TOKEN = "first token"


class UserCollection:
    """GET /users lists users in creation order; POST /users creates one, with a first token."""

    def __init__(self, service: Service, max_body: int) -> None:
        self.service, self.max_body = service, max_body

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """A page of users after user id `after`."""
        query = read_query(req, UserListQuery)
        await_position(self.service, query.position)
        rows = self.service.views.users(after=query.after, limit=query.limit + 1)
        page, more = split_page(rows, query.limit)
        resp.media = {
            "items": [user_from_row(row) for row in page],
            "next_after": page[-1]["id"] if more else None,
        }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a user with a unique name (admins only), and issue their first token."""
        body = read_body(req, UserCreation, self.max_body)
        by = caller(req)
        user = self.service.app.create_user(
            name=body.name, surname=body.surname, title=body.title, role=body.role, by=by
        )
        issued = self.service.app.issue_token(user.name, by=by, label=FIRST_TOKEN)
        resp.status = falcon.HTTP_201
        resp.location = f"{USERS_PATH}/{user.name}"
        # The log's newest position is at or past the user's own: safe to wait for.
        tell_position(resp, self.service.app.position())
        resp.media = {**user_from_aggregate(user), "token": new_token(issued, FIRST_TOKEN)}


class UserItem:
    """GET /users/{name}: one user, from its events."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """The user called `name`."""
        resp.media = user_from_aggregate(self.service.app.get_user(name))


class UserJobs:
    """GET /users/{name}/jobs: the user's latest jobs, newest first."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """The user's last `limit` (ten by default) jobs."""
        query = read_query(req, UserJobsQuery)
        await_position(self.service, query.position)
        rows = self.service.views.stored_jobs(JOB_FIELDS, owner=name, limit=query.limit)
        if not rows:  # jobs belong to a user who exists; no jobs: is there such a user?
            self.service.app.check_user_exists(name)
        resp.media = {"items": [job_from_stored(row) for row in rows]}
