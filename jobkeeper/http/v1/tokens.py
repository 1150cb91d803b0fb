"""A user's tokens: issue one (shown once), list them, read one, revoke one."""

from __future__ import annotations

import falcon

from jobkeeper.domain.errors import ForbiddenError
from jobkeeper.domain.user import User
from jobkeeper.http.auth import caller
from jobkeeper.http.consistency import tell_position
from jobkeeper.http.port import Service
from jobkeeper.http.v1.models import TokenRequest
from jobkeeper.http.v1.representation import new_token, token_from_record
from jobkeeper.http.v1.users import USERS_PATH
from jobkeeper.http.validation import read_body


class TokenCollection:
    """GET /users/{name}/tokens lists a user's tokens; POST issues one (201, shown once)."""

    def __init__(self, service: Service, max_body: int) -> None:
        self.service, self.max_body = service, max_body

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """The user's tokens: ids, labels and when they were issued, never a secret."""
        user = visible_tokens_of(self.service, name, caller(req))
        resp.media = {"items": [token_from_record(i, r) for i, r in user.tokens.items()]}

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """Issue a token for the user; only they or an admin may."""
        body = read_body(req, TokenRequest, self.max_body, optional=True)
        issued = self.service.app.issue_token(name, by=caller(req), label=body.label)
        resp.status = falcon.HTTP_201
        resp.location = f"{USERS_PATH}/{name}/tokens/{issued.token_id}"
        tell_position(resp, self.service.app.position())
        resp.media = new_token(issued, body.label)


class TokenItem:
    """GET /users/{name}/tokens/{token_id} reads one token; DELETE revokes it (204)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str, token_id: str) -> None:
        """The token's id, label and issue time."""
        user = visible_tokens_of(self.service, name, caller(req))
        if token_id not in user.tokens:
            raise no_token(name, token_id)
        resp.media = token_from_record(token_id, user.tokens[token_id])

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, name: str, token_id: str
    ) -> None:
        """Revoke the token: it answers 401 from now on."""
        if not self.service.app.revoke_token(name, token_id, by=caller(req)):
            raise no_token(name, token_id)
        tell_position(resp, self.service.app.position())
        resp.status = falcon.HTTP_204


def visible_tokens_of(service: Service, name: str, by: str) -> User:
    """The user `name`, if `by` may see their tokens: they themself or an admin."""
    if by != name and not service.app.is_admin(by):
        raise ForbiddenError(f"only {name} or an admin may see {name}'s tokens")
    return service.app.get_user(name)


def no_token(name: str, token_id: str) -> falcon.HTTPError:
    """The 404 of a token the user does not have."""
    return falcon.HTTPNotFound(
        title="Token not found", description=f"user {name!r} has no token {token_id!r}"
    )
