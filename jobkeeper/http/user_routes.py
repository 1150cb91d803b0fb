"""The route table of the v1 API's users: create and read them, their jobs, their tokens."""

from __future__ import annotations

from jobkeeper.http.consistency import POSITION_HEADER
from jobkeeper.http.models import TokenRequest, UserCreation, UserJobsQuery, UserListQuery
from jobkeeper.http.responses import (
    JobList,
    NewTokenOut,
    NewUserOut,
    TokenList,
    TokenOut,
    UserOut,
    UserPage,
)
from jobkeeper.http.routes import Operation, Reply, Route, create, errors, get
from jobkeeper.http.tokens import TokenCollection, TokenItem
from jobkeeper.http.users import UserCollection, UserItem, UserJobs

API = "/api/v1"
USER = f"{API}/users/{{name}}"
ISSUED = {
    "Location": "where the token can be read and revoked",
    POSITION_HEADER: "pass as `position` to lists",
}
REVOKED = {POSITION_HEADER: "pass as `position` to lists"}
USER_ROUTES = [
    Route(
        f"{API}/users",
        lambda w: UserCollection(w.service, w.max_body),
        (
            get("List users in creation order", UserPage, 400, query=UserListQuery),
            create(
                "Create a user, with a first token",
                UserCreation,
                NewUserOut,
                description="Admins only. The answer carries the user's first token: it is "
                "shown this once.",
            ),
        ),
        "users",
    ),
    Route(USER, lambda w: UserItem(w.service), (get("A user", UserOut, 404),), "users"),
    Route(
        f"{USER}/jobs",
        lambda w: UserJobs(w.service),
        (get("The user's latest jobs, newest first", JobList, 400, 404, query=UserJobsQuery),),
        "users",
    ),
    Route(
        f"{USER}/tokens",
        lambda w: TokenCollection(w.service, w.max_body),
        (
            get("The user's tokens (never their secrets)", TokenList, 403, 404),
            Operation(
                "POST",
                "Issue a token for the user",
                {201: Reply("The token, shown this once", NewTokenOut, headers=ISSUED)}
                | errors(400, 403, 404, 413, 415),
                body=TokenRequest,
                body_required=False,
                description="The user themself or an admin. The body may be left out.",
            ),
        ),
        "users",
    ),
    Route(
        f"{USER}/tokens/{{token_id}}",
        lambda w: TokenItem(w.service),
        (
            get("One of the user's tokens (never its secret)", TokenOut, 403, 404),
            Operation(
                "DELETE",
                "Revoke the token: it answers 401 from now on",
                {204: Reply("Revoked", media=(), headers=REVOKED)} | errors(403, 404),
                description="The user themself or an admin.",
            ),
        ),
        "users",
    ),
]
