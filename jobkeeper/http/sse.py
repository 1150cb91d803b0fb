"""Server-sent event bodies that hold no thread.

A resource answers a stream by setting `resp.stream = EventStream(...)` around an async
generator of messages. Under the event-loop server (http/asgi.py) the request's thread is let
go as soon as the resource returns, and the generator runs on the loop; under a plain WSGI
server (and Falcon's test client) the body is iterated in the request's thread as any other.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator

from jobkeeper.http.media import to_json

Messages = Callable[[], AsyncGenerator[bytes, None]]
KEEPALIVE = b": keep-alive\n\n"


def message(event_id: int, event: str, data: object) -> bytes:
    """One SSE message with its id (the cursor a client resumes from with Last-Event-ID)."""
    return raw_message(event_id, event, to_json(data))


def raw_message(event_id: int, event: str, data: bytes) -> bytes:
    """`message` of data already JSON (one line)."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, event.encode(), data)


class EventStream:
    """A response body of server-sent events; closing it (always done by the server, also
    when the body was never read) ends the messages and calls `on_close` once."""

    def __init__(
        self,
        messages: Messages,
        *,
        sync: Callable[[], Iterator[bytes]] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.messages, self.sync, self.on_close = messages, sync, on_close
        self._iterator: Iterator[bytes] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        return self.messages()

    def __iter__(self) -> Iterator[bytes]:
        """The messages in the caller's thread (a plain WSGI server's request thread)."""
        self._iterator = self.sync() if self.sync is not None else self._drive()
        return self._iterator

    def _drive(self) -> Iterator[bytes]:
        loop = asyncio.new_event_loop()
        messages = self.messages()
        try:
            while True:
                try:
                    yield loop.run_until_complete(anext(messages))
                except StopAsyncIteration:
                    return
        finally:
            loop.run_until_complete(messages.aclose())
            loop.close()

    def close(self) -> None:
        """What a WSGI server calls when the response is over or the client left."""
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()
        self.release()

    def release(self) -> None:
        """Call `on_close` the first time only."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.on_close is not None:
            self.on_close()
