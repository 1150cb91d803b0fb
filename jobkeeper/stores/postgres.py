"""PostgreSQL helpers: connecting, the setup lock, and the check that the server answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SETUP_LOCK = 0x6A6F626B  # any fixed number, shared by every jobkeeper process
POSTGRES = "eventsourcing.postgres"
POOL_WAIT = 0.2
"""Seconds a store call waits for a pooled connection. The library tries each call ten
times, 0.2 s apart, so a call fails after about four seconds while the server is down (it
would take ten times the connect timeout, half a minute, otherwise), and a busy pool still
gets those four seconds to free a connection."""


class DatabaseUnreachableError(RuntimeError):
    """Raised when the PostgreSQL server of the store settings cannot be reached (one line)."""


def connect(env: dict[str, str]) -> Any:
    """A connection (autocommit) to the PostgreSQL database of the store settings `env`."""
    import psycopg

    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
        autocommit=True,
    )


def bound_pool_waits(recorder: Any, env: dict[str, str]) -> None:
    """Make a PostgreSQL recorder's pool wait POOL_WAIT for a connection, and its new
    connections give up connecting after POSTGRES_CONNECT_TIMEOUT; nothing for other stores."""
    if env.get("PERSISTENCE_MODULE") != POSTGRES:
        return
    pool = recorder.datastore.pool
    pool.timeout = POOL_WAIT
    pool.kwargs["connect_timeout"] = int(env.get("POSTGRES_CONNECT_TIMEOUT", "5"))


@contextmanager
def setup_lock(env: dict[str, str]) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while tables are created, so processes starting
    together do not race on the same DDL; also create the schema the settings name.
    Nothing to do for other stores."""
    if env.get("PERSISTENCE_MODULE") != POSTGRES:
        yield
        return
    from psycopg import sql

    with connect(env) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            if env.get("POSTGRES_SCHEMA"):
                statement = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
                connection.execute(statement.format(sql.Identifier(env["POSTGRES_SCHEMA"])))
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))


def check_database(env: dict[str, str]) -> None:
    """Connect once to the PostgreSQL server `env` names, or raise DatabaseUnreachableError."""
    if env.get("PERSISTENCE_MODULE") != POSTGRES:
        return
    import psycopg

    try:
        connect(env).close()
    except psycopg.Error as error:
        raise DatabaseUnreachableError(f"cannot reach the database: {first_line(error)}") from None


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
