"""Reading a page at once on SQLite gives exactly the rows, values and order a plain read gives."""

from __future__ import annotations

import sqlite3

import pytest

from jobkeeper.projections.store import Database

AWKWARD = [0.1 + 0.2, 1 / 3, 1e-300, 2.5e300, 1.0, 0.0, -0.0, 123456789.12345679]


@pytest.fixture
def db() -> Database:
    connection = sqlite3.connect(":memory:")
    connection.row_factory = sqlite3.Row
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, real REAL, text TEXT, n INTEGER)")
    rows = [
        (i, value, f'"{i}" ✓ {{"json": [1]}}\\n' if i % 2 else None, i * 10)
        for i, value in enumerate(AWKWARD, start=1)
    ]
    connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    return Database(connection.cursor(), {"t": "t"}, postgres=False)


@pytest.mark.parametrize("newest_first", [True, False])
def test_a_page_read_at_once_equals_the_rows_read_one_by_one(
    db: Database, newest_first: bool
) -> None:
    order = "DESC" if newest_first else "ASC"
    statement = f"SELECT id, real, text, n FROM {{t}} WHERE id > ? ORDER BY id {order} LIMIT ?"
    plain = db.values(statement, (1, 6))
    at_once = db.values_at_once(
        statement,
        (1, 6),
        ("id", "real", "text", "n"),
        frozenset({"real"}),
        newest_first=newest_first,
    )
    assert at_once == plain
    assert [type(v) for row in at_once for v in row] == [type(v) for row in plain for v in row]


def test_an_empty_page_is_empty(db: Database) -> None:
    statement = "SELECT id, real FROM {t} WHERE id > ? ORDER BY id LIMIT ?"
    assert db.values_at_once(statement, (100, 5), ("id", "real"), frozenset({"real"})) == []
