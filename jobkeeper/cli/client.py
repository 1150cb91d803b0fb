"""The HTTP API as the commands use it: JSON in and out, errors as exit statuses, streams that
reconnect with Last-Event-ID."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from httpx_sse import SSEError, connect_sse

from jobkeeper.cli.connection import Connection
from jobkeeper.cli.exits import (
    CONFLICT,
    FAILED,
    NOT_ALLOWED,
    NOT_FOUND,
    UNREACHABLE,
    USAGE,
    CliError,
)

API = "/api/v1"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
STREAM_TIMEOUT = httpx.Timeout(30.0, connect=5.0)  # the server sends a keep-alive every 10 s
BY_CODE = {
    400: USAGE,
    401: NOT_ALLOWED,
    403: NOT_ALLOWED,
    404: NOT_FOUND,
    409: CONFLICT,
    413: USAGE,
    415: USAGE,
    422: USAGE,
}
RECONNECT_PAUSE = 1.0
RETRIES = 3  # of a request answered 429 or 503, after the Retry-After it names (at most 10 s)


class Api:
    """A client of one server's v1 API."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        headers = {"User-Agent": "jobkeeper-cli"}
        if connection.token:
            headers["Authorization"] = f"Bearer {connection.token}"
        self.http = httpx.Client(base_url=connection.url, headers=headers, timeout=TIMEOUT)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body: Any = None, key: str | None = None) -> httpx.Response:
        """POST with an Idempotency-Key (`key`, else a fresh one), so that a retry after a
        429 or 503 never does the thing twice."""
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        return self.request("POST", path, json=body, headers=headers)

    def delete(self, path: str) -> httpx.Response:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer to one request; CliError with the right exit status unless 2xx."""
        if "params" in kwargs:
            kwargs["params"] = {k: v for k, v in kwargs["params"].items() if v is not None}
        for attempt in range(RETRIES + 1):
            try:
                response = self.http.request(method, f"{API}{path}", **kwargs)
            except httpx.TransportError as error:
                raise self.unreachable(error) from None
            if response.status_code in (429, 503) and attempt < RETRIES:
                time.sleep(min(10.0, _seconds(response.headers.get("Retry-After"))))
                continue
            break
        check(response, self.connection)
        return response

    def pages(self, path: str, key: str, cursor: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paged list: `key` is the answer's field naming the next page and
        `cursor` the parameter that takes it; a list without `key` is one page."""
        while True:
            page = self.get(path, **params)
            yield from page["items"]
            following = page.get(key)
            if following is None or not page["items"]:
                return
            params[cursor] = following

    def download(self, path: str) -> Iterator[bytes]:
        """The body of a streamed download, a chunk at a time (CliError unless 2xx)."""
        try:
            with self.http.stream("GET", f"{API}{path}", timeout=STREAM_TIMEOUT) as response:
                check(response, self.connection, read=True)
                yield from response.iter_bytes()
        except httpx.TransportError as error:
            raise self.unreachable(error) from None

    def events(self, job_id: int, last_id: str | None = None) -> Iterator[tuple[str, str, Any]]:
        """The job's server-sent events as (id, event, data) until the server ends the stream
        at the job's end; a stream the server ends early is taken up again after its last id."""
        import json

        path = f"{API}/jobs/{job_id}/stream"
        while True:
            headers = {"Last-Event-ID": last_id} if last_id is not None else {}
            before = last_id
            try:
                with connect_sse(
                    self.http, "GET", path, headers=headers, timeout=STREAM_TIMEOUT
                ) as source:
                    check(source.response, self.connection, read=True)
                    for sse in source.iter_sse():
                        last_id = sse.id or last_id
                        yield sse.id, sse.event, json.loads(sse.data) if sse.data else None
            except (httpx.TransportError, SSEError) as error:
                if isinstance(error, httpx.ReadTimeout):
                    continue  # silent longer than its keep-alives: ask again
                raise self.unreachable(error) from None
            # The server ended the stream early (at the job's end the caller stops reading).
            if last_id == before:
                time.sleep(RECONNECT_PAUSE)  # nothing new came: do not ask again at once

    def unreachable(self, error: Exception) -> CliError:
        reason = str(error) or type(error).__name__
        return CliError(f"cannot reach the server at {self.connection.url}: {reason}", UNREACHABLE)

    def close(self) -> None:
        self.http.close()


def check(response: httpx.Response, connection: Connection, *, read: bool = False) -> None:
    """Raise CliError for an answer that is not a success."""
    if response.is_success:
        return
    if read:
        response.read()
    code = BY_CODE.get(response.status_code, FAILED)
    message = describe(response)
    if response.status_code == 401:
        if not connection.token:
            message = "no token"
        message += (
            f" ({connection.url} answered 401); pass --token, set JOBKEEPER_TOKEN"
            f" or run: jobkeeper login {connection.url}"
        )
    raise CliError(message, code)


def describe(response: httpx.Response) -> str:
    """What the server said went wrong, on one line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("description") or body.get("title")):
        text = str(body.get("description") or body.get("title"))
    else:
        text = f"{response.status_code} {response.reason_phrase}"
    return " ".join(text.split())


def _seconds(value: str | None) -> float:
    try:
        return max(1.0, float(value or 1))
    except ValueError:
        return 1.0
