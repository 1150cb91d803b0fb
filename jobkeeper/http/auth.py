"""Who is calling: the bearer token of a request, and the user the guard found it belongs to."""

from __future__ import annotations

import re

import falcon

from jobkeeper.http.routing import API_V1

REALM = 'Bearer realm="jobkeeper"'
BEARER = re.compile(r"Bearer +(\S+) *", re.IGNORECASE)
TOKEN = re.compile(r"[\x21-\x7e]{1,512}")
"""What a token can be: visible ASCII, bounded (anything else is wrong without a look-up)."""
HOW = (
    "send the header `Authorization: Bearer <token>`; the first start printed admin's token "
    f"(also in admin-token in the data folder), and POST {API_V1}/users/{{name}}/tokens issues more"
)


def bearer_token(req: falcon.Request) -> str | None:
    """The token of the request's `Authorization: Bearer <token>` header, if it has one."""
    match = BEARER.fullmatch(req.auth or "")
    if match is None or not TOKEN.fullmatch(match[1]):
        return None
    return match[1]


def caller(req: falcon.Request) -> str:
    """The name of the authenticated user making `req` (the guard put it on the context)."""
    name = getattr(req.context, "user", None)
    if not isinstance(name, str):
        raise unauthorized(req)  # a protected route is never reached without a user
    return name


def unauthorized(req: falcon.Request) -> falcon.HTTPUnauthorized:
    """The 401 for `req`: its description says what was wrong and what to send."""
    if not req.auth:
        return falcon.HTTPUnauthorized(
            title="Unauthorized", description=f"no token: {HOW}", challenges=[REALM]
        )
    if bearer_token(req) is None:
        problem = "the Authorization header is not `Bearer <token>`"
    else:
        problem = "the bearer token is wrong or revoked"
    return falcon.HTTPUnauthorized(
        title="Unauthorized",
        description=f"{problem}: {HOW}",
        challenges=[f'{REALM}, error="invalid_token"'],
    )
