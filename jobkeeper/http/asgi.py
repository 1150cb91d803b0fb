"""The WSGI app on an event loop: requests in a bounded thread pool, event streams on the loop.

gunicorn's ASGI worker owns the connections (idle, kept alive or slowly sending ones cost a
little memory each, no thread). Each request is handed to the WSGI app in one of `threads`
threads; when the app answers with an `EventStream` body, the thread is let go at once and
the stream's messages are sent from the loop until it ends, the client leaves or the server
drains. Every other body is sent from the request's thread as the app produces it.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable, Coroutine, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jobkeeper.http.sse import EventStream

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Coroutine[Any, Any, Message]]
Send = Callable[[Message], Coroutine[Any, Any, None]]
WSGIApp = Callable[..., Iterable[bytes]]
DRAIN_CHECK = 0.5  # seconds between looks at whether the server is stopping


class Bridge:
    """An ASGI app serving a WSGI app from `threads` threads; `stopping` says when open
    streams should end (the server drains)."""

    def __init__(
        self, app: WSGIApp, threads: int, stopping: Callable[[], bool] = lambda: False
    ) -> None:
        self.app, self.stopping = app, stopping
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="request")
        self._draining: asyncio.Event | None = None  # set when the server drains
        self._watcher: asyncio.Future[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        body = RequestBody(receive, loop)
        reply = Reply(send, loop)
        try:
            stream = await loop.run_in_executor(
                self.pool, reply.run, self.app, environ(scope, body)
            )
        except OSError:
            return  # the client left while the answer was sent
        if stream is not None:
            await self._stream(stream, reply, receive)

    async def _stream(self, stream: EventStream, reply: Reply, receive: Receive) -> None:
        send = reply.send
        try:
            await send(reply.start_message())
            pump = asyncio.ensure_future(_pump(stream, send))
            gone = asyncio.ensure_future(_until_disconnect(receive))
            drained = asyncio.ensure_future(self._drained().wait())
            await asyncio.wait({pump, gone, drained}, return_when=asyncio.FIRST_COMPLETED)
            client_left = gone.done()
            for task in (pump, gone, drained):
                task.cancel()
            await asyncio.gather(pump, gone, drained, return_exceptions=True)
            if not client_left:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client left while we wrote
        finally:
            try:  # giving the slot back may wait on Redis: not on the loop
                asyncio.get_running_loop().run_in_executor(None, stream.release)
            except RuntimeError:  # the loop's executor is shut down: the worker exits
                stream.release()

    def _drained(self) -> asyncio.Event:
        """The event of the server draining, watched by one task for every stream."""
        if self._draining is None:
            self._draining = asyncio.Event()
            self._watcher = asyncio.ensure_future(self._watch(self._draining))
        return self._draining

    async def _watch(self, draining: asyncio.Event) -> None:
        while not self.stopping():
            await asyncio.sleep(DRAIN_CHECK)
        draining.set()


async def _pump(stream: EventStream, send: Send) -> None:
    messages = stream.__aiter__()
    try:
        async for chunk in messages:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        await messages.aclose()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class Reply:
    """Runs the WSGI app in a pool thread and sends what it answers through the loop."""

    def __init__(self, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        self.send, self.loop = send, loop
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False

    def start_message(self) -> Message:
        """The ASGI message that starts the response."""
        return {"type": "http.response.start", "status": self.status, "headers": self.headers}

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """WSGI's start_response: keeps the status line and headers for the first body part."""
        if exc_info is not None and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = int(status.split(" ", 1)[0])
        self.headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ]
        return self._write

    def run(self, app: WSGIApp, env: dict[str, Any]) -> EventStream | None:
        """Call the app (in a pool thread); an event stream is handed back to the loop."""
        result = app(env, self.start_response)
        if isinstance(result, EventStream):
            return result
        try:
            if isinstance(result, list | tuple):  # the common case: one piece, sent at once
                self._call(self.start_message())
                body = b"".join(result)
                self._call({"type": "http.response.body", "body": body, "more_body": False})
                return None
            for chunk in result:
                if chunk:
                    self._write(chunk)
            if not self.started:
                self._call(self.start_message())
            self._call({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return None

    def _write(self, chunk: bytes) -> None:
        if not self.started:
            self.started = True
            self._call(self.start_message())
        self._call({"type": "http.response.body", "body": chunk, "more_body": True})

    def _call(self, message: Message) -> None:
        self.started = True
        asyncio.run_coroutine_threadsafe(self.send(message), self.loop).result()


class RequestBody(io.RawIOBase):
    """wsgi.input: the request body, read from the loop as the app asks for it."""

    def __init__(self, receive: Receive, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.receive, self.loop = receive, loop
        self.buffer = bytearray()
        self.done = False

    def readable(self) -> bool:
        return True

    def _more(self) -> None:
        message = asyncio.run_coroutine_threadsafe(self.receive(), self.loop).result()
        if message["type"] != "http.request":
            self.done = True
            return
        self.buffer += message.get("body", b"")
        if not message.get("more_body", False):
            self.done = True

    def read(self, size: int | None = -1) -> bytes:
        while not self.done and (size is None or size < 0 or len(self.buffer) < size):
            self._more()
        if size is None or size < 0:
            size = len(self.buffer)
        chunk = bytes(self.buffer[:size])
        del self.buffer[:size]
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        while b"\n" not in self.buffer and not self.done:
            self._more()
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if size is not None and size >= 0:
            end = min(end, size)
        return self.read(end)


def environ(scope: Scope, body: RequestBody) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    env: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.input_terminated": True,  # the body ends where the request does (chunked too)
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name, value = (
            raw_name.decode("latin-1").upper().replace("-", "_"),
            raw_value.decode("latin-1"),
        )
        if name == "CONTENT_TYPE" or name == "CONTENT_LENGTH":
            env[name] = value
            continue
        key = f"HTTP_{name}"
        if key in env:
            value = env[key] + ("; " if name == "COOKIE" else ",") + value
        env[key] = value
    return env
