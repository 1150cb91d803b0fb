"""The options every client command takes, and the session they build: a connection to the
server (made on first use) and the output."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from jobkeeper.cli.output import Output

if TYPE_CHECKING:
    from jobkeeper.cli.client import Api
    from jobkeeper.cli.connection import Connection


class Session:
    """What a client command works with."""

    def __init__(self, url: str | None, token: str | None, profile: str | None, output: str):
        self.url, self.token, self.profile = url, token, profile
        self.out = Output(output)
        self._api: Api | None = None

    def connection(self) -> Connection:
        from jobkeeper.cli.connection import resolve

        return resolve(self.url, self.token, self.profile)

    @property
    def api(self) -> Api:
        if self._api is None:
            from jobkeeper.cli.client import Api

            self._api = Api(self.connection())
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


def client_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add --url, --token, --profile and --output."""
    options = (
        click.option(
            "--url",
            metavar="URL",
            help="the server (JOBKEEPER_URL; else the profile's, "
            "else a local serve's http://127.0.0.1:8000)",
        ),
        click.option(
            "--token",
            metavar="TOKEN",
            help="bearer token (JOBKEEPER_TOKEN; else the "
            "profile's, else a local serve's admin-token)",
        ),
        click.option(
            "--profile",
            metavar="NAME",
            help="a profile saved by `jobkeeper login` (JOBKEEPER_PROFILE; default: default)",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Choice(["text", "json"]),
            help="text (the default) or json: one JSON document on stdout",
        ),
    )
    for option in reversed(options):
        function = option(function)
    return function


def client_command(function: Callable[..., int]) -> Callable[..., int]:
    """Add the client options; pass a Session as the first argument."""

    @client_options
    @functools.wraps(function)
    def wrapper(
        url: str | None, token: str | None, profile: str | None, output: str, **kwargs: Any
    ) -> int:
        given = click.get_current_context().find_root().meta  # the same options before the command
        session = Session(
            url or given.get("url"),
            token or given.get("token"),
            profile or given.get("profile"),
            output or given.get("output") or "text",
        )
        try:
            return function(session, **kwargs)
        finally:
            session.close()

    return wrapper
