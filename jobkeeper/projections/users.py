"""The users view: one row per user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobkeeper.domain.user import User
from jobkeeper.projections.store import Database, Row

tables = ("users",)


def create_statements(t: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {t['users']} (
            name TEXT PRIMARY KEY, id BIGINT NOT NULL UNIQUE, surname TEXT NOT NULL,
            title TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL)""",
    ]


def apply(db: Database, events: Sequence[tuple[int, Any]]) -> None:
    """Insert the users that `events` create."""
    rows = [
        (e.name, e.number, e.surname, e.title, e.role, e.timestamp)  # ISO text (events.py)
        for _, e in events
        if isinstance(e, User.Created)
    ]
    db.executemany(
        "INSERT INTO {users} (name, id, surname, title, role, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        rows,
    )


def find(db: Database, *, after: int = 0, limit: int = 100) -> list[Row]:
    """Users in the order they were created, with ids above `after`."""
    return db.all("SELECT * FROM {users} WHERE id > ? ORDER BY id LIMIT ?", (after, limit))


def get(db: Database, name: str) -> Row | None:
    """The user called `name`."""
    return db.one("SELECT * FROM {users} WHERE name = ?", (name,))
