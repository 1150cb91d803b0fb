"""A server the service needs that is down, full or read-only answers 503 with Retry-After and
a message saying what is wrong: never 500. The HTTP layer alone, on the fake application."""

from __future__ import annotations

import sqlite3

import eventsourcing.persistence
import falcon.testing
import psycopg
import psycopg_pool
import pytest
import redis

from tests.http.fake import FakeService

Client = falcon.testing.TestClient
STORE_DOWN = "the database does not answer"


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (eventsourcing.persistence.OperationalError("couldn't get a connection after 0.20 sec"),
         STORE_DOWN),
        (psycopg_pool.PoolTimeout("couldn't get a connection after 0.20 sec"), STORE_DOWN),
        (psycopg.OperationalError("terminating connection due to administrator command"),
         STORE_DOWN),
        (eventsourcing.persistence.InterfaceError("the connection is closed"), STORE_DOWN),
        (eventsourcing.persistence.OperationalError("database or disk is full"),
         "the data folder's disk is full"),
        (sqlite3.OperationalError("database or disk is full"), "the data folder's disk is full"),
        (eventsourcing.persistence.OperationalError("attempt to write a readonly database"),
         "the data files cannot be written"),
        (eventsourcing.persistence.OperationalError("disk I/O error"),
         "the data files cannot be written"),
        (redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
         "Redis does not answer"),
        (redis.TimeoutError("Timeout reading from socket"), "Redis does not answer"),
    ],
)  # fmt: skip
def test_a_server_that_is_down_answers_503_with_retry_after(
    fake: FakeService, fake_client: Client, error: Exception, says: str
) -> None:
    fake.app.fail("command", error)
    result = fake_client.simulate_post("/api/v1/jobs/3/stop")
    assert result.status_code == 503
    assert result.headers["Retry-After"] == "3"
    assert result.json["title"] == "Service unavailable"
    assert result.json["description"].startswith(says), result.json
    assert str(error).splitlines()[0] in result.json["description"]


def test_reads_of_a_store_that_is_down_answer_503_too(
    fake: FakeService, fake_client: Client
) -> None:
    fake.app.fail("get_job", eventsourcing.persistence.OperationalError("connection refused"))
    result = fake_client.simulate_get("/api/v1/jobs/3")
    assert result.status_code == 503
    assert result.headers["Retry-After"] == "3"


def test_errors_that_are_bugs_still_answer_500(fake: FakeService, fake_client: Client) -> None:
    fake.app.fail("command", eventsourcing.persistence.ProgrammingError("syntax error"))
    assert fake_client.simulate_post("/api/v1/jobs/3/stop").status_code == 500
