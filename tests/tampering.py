"""Changing event rows behind the service's back, in SQLite or PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from jobkeeper.application import chain


class Rows:
    """The event rows of a store (`store_env` settings), reached with plain SQL as someone
    with access to the database would: `{t}` in a statement names the events table."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if self.env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
            import psycopg

            with psycopg.connect(
                dbname=self.env["POSTGRES_DBNAME"], host=self.env["POSTGRES_HOST"],
                port=self.env["POSTGRES_PORT"], user=self.env["POSTGRES_USER"],
                password=self.env["POSTGRES_PASSWORD"], autocommit=True,
                options=f"-c search_path={self.env['POSTGRES_SCHEMA']}",
            ) as connection:  # fmt: skip
                table = "jobkeeper_events"
                cursor = connection.execute(statement.format(t=table).replace("?", "%s"), params)
                return cursor.fetchall() if cursor.description else []
        with sqlite3.connect(self.env["SQLITE_DBNAME"]) as connection:
            rows = connection.execute(statement.format(t="stored_events"), params).fetchall()
        connection.close()
        return rows

    def state(self, stream: str, version: int) -> dict[str, Any]:
        rows = self.execute(
            "SELECT state FROM {t} WHERE originator_id = ? AND originator_version = ?",
            (stream, version),
        )
        loaded: dict[str, Any] = json.loads(bytes(rows[0][0]))
        return loaded

    def set_state(self, stream: str, version: int, state: dict[str, Any]) -> None:
        self.execute(
            "UPDATE {t} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (json.dumps(state).encode(), stream, version),
        )

    def edit_row(self, stream: str, version: int, old: bytes, new: bytes) -> None:
        """Change bytes of a stored row in place, the rest of it as it was."""
        (row,) = self.execute(
            "SELECT state FROM {t} WHERE originator_id = ? AND originator_version = ?",
            (stream, version),
        )[0]
        assert old in bytes(row)
        self.execute(
            "UPDATE {t} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (bytes(row).replace(old, new, 1), stream, version),
        )

    def topic(self, stream: str, version: int) -> str:
        rows = self.execute(
            "SELECT topic FROM {t} WHERE originator_id = ? AND originator_version = ?",
            (stream, version),
        )
        return str(rows[0][0])

    def reseal(self, stream: str, version: int, state: dict[str, Any], prev: str) -> str:
        """Write `state` as a sealed row linked to `prev`, its hash made anew as one who knows
        the algorithm would (the README's recipe backwards); answer the new hash."""
        content = {k: v for k, v in state.items() if k not in (chain.PREV, chain.FORM, chain.HASH)}
        content.update({chain.PREV: prev, chain.FORM: chain.ROW, chain.HASH: chain.BLANK})
        plain = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
        row, digest = chain.seal(stream, version, self.topic(stream, version), plain)
        self.execute(
            "UPDATE {t} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (row, stream, version),
        )
        return digest
