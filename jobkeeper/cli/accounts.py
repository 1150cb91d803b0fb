"""Who and what over the API: `login`, `kinds`, `users` and `tokens`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from jobkeeper.cli.exits import SUCCESS, USAGE, CliError
from jobkeeper.cli.output import message, when
from jobkeeper.cli.session import Session, client_command, client_options


@click.command(
    epilog="\b\nExamples:\n  jobkeeper login https://jobs.example.com\n"
    "  jobkeeper --profile staging login http://10.0.0.5:8000"
)
@click.argument("url")
@click.option("--token", metavar="TOKEN", help="the token (asked for, without echo, if left out)")
@click.option("--profile", metavar="NAME", default=None, help="save as this profile (default)")
def login(url: str, token: str | None, profile: str | None) -> int:
    """Check a token against the server at URL and save both for later commands.

    The config file (in your config folder, or JOBKEEPER_CONFIG) is readable by you only.
    """
    from jobkeeper.cli.client import Api
    from jobkeeper.cli.connection import DEFAULT_PROFILE, Connection, normal_url, save_profile

    url = normal_url(url)
    if token is None:
        token = click.prompt(f"token for {url}", hide_input=True, err=True).strip()
    if not token:
        raise CliError("no token given", USAGE)
    api = Api(Connection(url, token))
    try:
        api.get("/users", limit=1)  # needs a valid token
    finally:
        api.close()
    root = click.get_current_context().find_root().meta
    name = profile or root.get("profile") or os.environ.get("JOBKEEPER_PROFILE") or DEFAULT_PROFILE
    path = save_profile(name, url, token)
    message(f"logged in to {url} as profile {name!r} (saved in {path})")
    return SUCCESS


@click.command(epilog="\b\nExamples:\n  jobkeeper kinds\n  jobkeeper kinds -o json")
@client_command
def kinds(session: Session) -> int:
    """The job kinds and their parameters (name=default, type)."""
    found = session.api.get("/kinds")["items"]
    if session.out.json:
        session.out.document(found)
        return SUCCESS
    rows = [(k["name"], _params(k["params_schema"]), k["summary"]) for k in found]
    session.out.table(("KIND", "PARAMETERS", "SUMMARY"), rows)
    return SUCCESS


def _params(schema: dict[str, Any]) -> str:
    parts = []
    for name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type") or "/".join(s.get("type", "?") for s in spec.get("anyOf", []))
        default = f"={spec['default']}" if "default" in spec else ""
        parts.append(f"{name}{default} ({kind or 'any'})")
    return ", ".join(parts) or "-"


STORE_HELP = "add and token work on the store in this data folder, not over the API"


@dataclass(frozen=True)
class OnStore:
    """`users --store` or `--data`: its subcommands work on the store directly."""

    data: Path | None


@click.group(
    invoke_without_command=True,
    epilog="\b\nExamples:\n  jobkeeper users\n"
    "  jobkeeper users add ada --surname Lovelace\n"
    "  jobkeeper users --store add root --admin   # on the store, as an operator",
)
@click.option("--data", type=click.Path(path_type=Path), help=STORE_HELP)
@click.option(
    "--store",
    is_flag=True,
    help="add and token work on the store (JOBKEEPER_DATA or JOBKEEPER_DATABASE_URL)",
)
@client_options
@click.pass_context
def users(ctx: click.Context, /, data: Path | None, store: bool, **connection: Any) -> None:
    """The users (over the API); `add` and `token` on the store with --store or --data."""
    ctx.obj = OnStore(data) if store or data is not None else None
    if ctx.invoked_subcommand is None:
        ctx.exit(ctx.invoke(list_users, **connection))


@users.command("list")
@client_command
def list_users(session: Session) -> int:
    """Every user, in the order they were created."""
    found = list(session.api.pages("/users", "next_after", "after", limit=1000))
    if session.out.json:
        session.out.document(found)
        return SUCCESS
    rows = [(u["name"], u["role"], u["surname"], u["title"], when(u["created_at"])) for u in found]
    session.out.table(("NAME", "ROLE", "SURNAME", "TITLE", "CREATED"), rows)
    return SUCCESS


def _store(argv: list[str]) -> int | None:
    """Run a `users` command on the store when --store or --data was given; None otherwise."""
    on_store = click.get_current_context().find_object(OnStore)
    if on_store is None:
        return None
    from jobkeeper.cli.starts import run_processes

    where = [] if on_store.data is None else ["--data", str(on_store.data)]
    return run_processes(["users", *where, *argv])


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="give the user the admin role")
@click.option("--surname", default="")
@click.option("--title", default="")
@client_command
def add_user(session: Session, name: str, admin: bool, surname: str, title: str) -> int:
    """Create a user (admins only) and print their first token, shown once."""
    flags = ["--admin"] if admin else []
    on_store = _store(["add", name, *flags, "--surname", surname, "--title", title])
    if on_store is not None:
        return on_store
    body = {"name": name, "surname": surname, "title": title, "role": "admin" if admin else "user"}
    user = session.api.post("/users", body).json()
    if session.out.json:
        session.out.document(user)
    else:
        message(f"created {user['role']} {user['name']}; token (shown once):")
        session.out.line(user["token"]["token"])
    return SUCCESS


@users.command("token")
@click.argument("name")
@click.option("--label", default="", help="what the token is for")
@client_command
def user_token(session: Session, name: str, label: str) -> int:
    """Issue another token for a user and print it (the same as `tokens issue`)."""
    on_store = _store(["token", name, "--label", label])
    if on_store is not None:
        return on_store
    return _issue(session, name, label)


def _issue(session: Session, name: str, label: str) -> int:
    issued = session.api.post(f"/users/{name}/tokens", {"label": label}).json()
    if session.out.json:
        session.out.document(issued)
    else:
        message(f"token {issued['token_id']} for {name} (shown once):")
        session.out.line(issued["token"])
    return SUCCESS


def _user(session: Session, user: str | None) -> str:
    if user:
        return user
    if session.connection().local_admin:
        return "admin"
    raise CliError("say whose tokens: --user NAME", USAGE)


USER_OPTION = click.option(
    "--user", metavar="NAME", help="whose tokens (default with a local serve's admin-token: admin)"
)


@click.group(
    invoke_without_command=True,
    epilog="\b\nExamples:\n  jobkeeper tokens --user ada\n"
    "  jobkeeper tokens issue --user ada --label laptop\n"
    "  jobkeeper tokens revoke 3f2a... --user ada",
)
@USER_OPTION
@client_options
@click.pass_context
def tokens(ctx: click.Context, /, user: str | None, **connection: Any) -> None:
    """A user's tokens (never their secrets); `issue` and `revoke` them."""
    if ctx.invoked_subcommand is None:
        ctx.exit(ctx.invoke(list_tokens, user=user, **connection))


@tokens.command("list")
@USER_OPTION
@client_command
def list_tokens(session: Session, user: str | None) -> int:
    """The user's tokens, in the order they were issued."""
    name = _user(session, user)
    found = session.api.get(f"/users/{name}/tokens")["items"]
    if session.out.json:
        session.out.document(found)
        return SUCCESS
    rows = [(t["token_id"], t["label"], when(t["issued_at"])) for t in found]
    session.out.table(("TOKEN ID", "LABEL", "ISSUED"), rows)
    return SUCCESS


@tokens.command("issue")
@USER_OPTION
@click.option("--label", default="", help="what the token is for")
@client_command
def issue_token(session: Session, user: str | None, label: str) -> int:
    """Issue a token and print it (shown once)."""
    return _issue(session, _user(session, user), label)


@tokens.command("revoke")
@click.argument("token_id")
@USER_OPTION
@client_command
def revoke_token(session: Session, token_id: str, user: str | None) -> int:
    """Revoke a token: it is refused from now on."""
    name = _user(session, user)
    session.api.delete(f"/users/{name}/tokens/{token_id}")
    if session.out.json:
        session.out.document({"token_id": token_id, "user": name, "revoked": True})
    else:
        session.out.line(f"revoked token {token_id} of {name}")
    return SUCCESS


COMMANDS = [login, kinds, users, tokens]
