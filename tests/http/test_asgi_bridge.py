"""The WSGI app on the event loop: bodies both ways, and event streams that hold no thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from jobkeeper.http.asgi import Bridge
from jobkeeper.http.sse import EventStream

Message = dict[str, Any]


def scope(path: str, method: str = "GET", headers: Iterable[tuple[bytes, bytes]] = ()) -> Message:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"a=1&b=%C3%A9",
        "headers": list(headers),
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.2", 5555),
    }


class Connection:
    """One request's receive and send, with the client leaving when `leave` is set."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts, self.sent = list(parts), []
        self.leave = asyncio.Event()

    async def receive(self) -> Message:
        if self.parts:
            body = self.parts.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(self.parts)}
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def echo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Answers what it was sent, in two parts (a generator)."""
    assert environ["wsgi.input_terminated"]  # what lets Falcon read a chunked body
    body = environ["wsgi.input"].read()
    start_response(
        "201 Created", [("Content-Type", "text/plain"), ("X-Seen", environ["QUERY_STRING"])]
    )

    def parts() -> Iterable[bytes]:
        yield environ["REQUEST_METHOD"].encode() + b" " + environ["PATH_INFO"].encode("latin-1")
        yield b" " + body + b" " + environ["HTTP_X_TWICE"].encode()

    return parts()


def test_a_request_body_in_parts_reaches_the_app_and_its_answer_comes_back() -> None:
    async def main() -> Connection:
        connection = Connection([b"one ", b"two"])
        headers = [(b"x-twice", b"a"), (b"x-twice", b"b")]
        await Bridge(echo, 2)(
            scope("/p\u00e9", "POST", headers), connection.receive, connection.send
        )
        return connection

    connection = asyncio.run(main())
    start = connection.sent[0]
    assert start["status"] == 201
    assert (b"x-seen", b"a=1&b=%C3%A9") in start["headers"]
    assert connection.body == "POST /p\u00e9".encode() + b" one two a,b"
    assert connection.sent[-1]["more_body"] is False


def test_an_event_stream_holds_no_thread_and_ends_when_the_client_leaves() -> None:
    closed: list[bool] = []

    async def ticks() -> AsyncGenerator[bytes, None]:
        while True:
            yield b": tick\n\n"
            await asyncio.sleep(0.01)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        if environ["PATH_INFO"] == "/stream":
            return EventStream(ticks, on_close=lambda: closed.append(True))
        return [b"plain"]

    async def main() -> tuple[Connection, Connection]:
        bridge = Bridge(app, 1)  # one request thread only
        streaming, plain = Connection([b""]), Connection([b""])
        stream = asyncio.ensure_future(bridge(scope("/stream"), streaming.receive, streaming.send))
        while b"tick" not in streaming.body:
            await asyncio.sleep(0.01)
        await asyncio.wait_for(bridge(scope("/other"), plain.receive, plain.send), 10)
        assert not stream.done()  # still streaming, and the one thread answered the other
        streaming.leave.set()
        await asyncio.wait_for(stream, 10)
        return streaming, plain

    _, plain = asyncio.run(main())
    assert plain.body == b"plain"
    assert closed == [True]


def test_a_draining_server_ends_open_streams() -> None:
    stopping: list[bool] = []

    async def silent() -> AsyncGenerator[bytes, None]:
        yield b": open\n\n"
        await asyncio.sleep(3600)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return EventStream(silent)

    async def main() -> Connection:
        connection = Connection([b""])
        bridge = Bridge(app, 1, stopping=lambda: bool(stopping))
        stream = asyncio.ensure_future(bridge(scope("/"), connection.receive, connection.send))
        while not connection.body:
            await asyncio.sleep(0.01)
        stopping.append(True)
        await asyncio.wait_for(stream, 10)
        return connection

    connection = asyncio.run(main())
    assert connection.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
