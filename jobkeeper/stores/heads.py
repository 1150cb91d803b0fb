"""The latest stored event of every stream, in one query of the event store's table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from eventsourcing.persistence import StoredEvent

SQLITE_LATEST = (
    "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {t} e "
    "JOIN (SELECT originator_id, MAX(originator_version) AS v FROM {t} GROUP BY originator_id) m "
    "ON e.originator_id = m.originator_id AND e.originator_version = m.v"
)
POSTGRES_LATEST = (
    "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state "
    "FROM {schema}.{table} ORDER BY originator_id, originator_version DESC"
)


def latest_events(recorder: Any) -> Callable[[], Iterable[StoredEvent]]:
    """A function that answers the latest stored event of every stream of `recorder`
    (an eventsourcing SQLite or PostgreSQL recorder)."""
    from eventsourcing.sqlite import SQLiteAggregateRecorder

    table = recorder.events_table_name
    if isinstance(recorder, SQLiteAggregateRecorder):

        def sqlite() -> list[StoredEvent]:
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(SQLITE_LATEST.format(t=table))
                return [_stored(row) for row in cursor.fetchall()]

        return sqlite

    from psycopg.sql import SQL, Identifier

    statement = SQL(POSTGRES_LATEST).format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(table)
    )

    def postgres() -> list[StoredEvent]:
        with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(statement)
            return [_stored(row) for row in cursor.fetchall()]

    return postgres


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )
