"""Open event streams hold no request thread; kept-alive, idle and slow connections drop nothing.

Against real servers: `jobkeeper serve` and a scaled cluster's `jobkeeper api`.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import httpx
import pytest
import requests

from tests.conftest import SCALED_MARKS
from tests.e2e.cluster import scaled_cluster
from tests.e2e.harness import Server

pytestmark = pytest.mark.e2e

THREADS = 4
STREAMS = 2 * THREADS  # job streams; plus as many list streams (16 in all: under the cap)
LATER = "2999-01-01T00:00:00Z"
READ_TIMEOUT = 20.0  # generous: the machine may be busy; nothing here is a timing claim


def raw_get(server: Server, path: str, headers: str = "") -> socket.socket:
    """A connection that sent `GET path` (with admin's token) and has not read the answer."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT)
    token = server.http.headers["Authorization"]
    request = f"GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: {token}\r\n{headers}\r\n"
    sock.sendall(request.encode())
    return sock


def read_until(sock: socket.socket, *needles: bytes) -> bytes:
    """What the connection sends until every one of `needles` came."""
    seen = b""
    deadline = time.monotonic() + READ_TIMEOUT
    while not all(needle in seen for needle in needles):
        assert time.monotonic() < deadline, f"{needles} not received: {seen[-500:]!r}"
        chunk = sock.recv(65536)
        assert chunk, f"closed before {needles}: {seen[-500:]!r}"
        seen += chunk
    return seen


def check_streams_leave_requests_answered(server: Server) -> None:
    job = server.post(
        "/jobs", {"kind": "sleep", "params": {"seconds": 60}, "not_before": LATER}, 201
    )
    job_id = job.json()["id"]
    with ExitStack() as stack:
        streams = []
        for n in range(STREAMS * 2):
            path = f"/api/v1/jobs/{job_id}/stream" if n % 2 else "/api/v1/jobs/stream?kind=sleep"
            sock = stack.enter_context(raw_get(server, path))
            streams.append((path, sock))
        for _, sock in streams:
            head = read_until(sock, b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
        # More streams are open than the server has request threads; others still answer.
        assert requests.get(f"{server.url}/healthz", timeout=READ_TIMEOUT).status_code == 200
        listed = server.get("/jobs", params={"kind": "sleep"})
        assert job_id in [item["id"] for item in listed["items"]]
        server.post(f"/jobs/{job_id}/cancel")
        for path, sock in streams:
            if "jobs/stream" in path:
                read_until(sock, b"event: job", b'"status":"cancelled"')
            else:
                read_until(sock, b"event: status", b'"status":"cancelled"')


def test_more_streams_than_request_threads_leave_the_server_answering(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(env={"JOBKEEPER_THREADS": str(THREADS)})
    check_streams_leave_requests_answered(server)


@pytest.mark.parametrize("backend", [pytest.param("scaled", marks=SCALED_MARKS)])
def test_more_streams_than_request_threads_leave_a_scaled_api_answering(
    tmp_path: Path, backend: str
) -> None:
    with scaled_cluster(tmp_path, apis=1, workers=1, threads=str(THREADS)) as cluster:
        check_streams_leave_requests_answered(cluster.apis[0])


def test_a_user_beyond_the_stream_cap_is_told_so_until_a_stream_closes(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(env={"JOBKEEPER_MAX_STREAMS_PER_USER": "2"})
    path = "/api/v1/jobs/stream"
    first, second = raw_get(server, path), raw_get(server, path)
    for sock in (first, second):
        assert read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 200")
    refused = server.http.get(f"{server.url}{path}", timeout=READ_TIMEOUT)
    assert refused.status_code == 429
    assert "2 open event streams" in refused.json()["description"]
    first.close()  # the server notices the client left and gives the slot back

    def accepted() -> bool:
        with server.http.get(f"{server.url}{path}", stream=True, timeout=READ_TIMEOUT) as answer:
            return answer.status_code == 200

    deadline = time.monotonic() + READ_TIMEOUT
    while not accepted():
        assert time.monotonic() < deadline, "the closed stream's slot never came back"
        time.sleep(0.1)
    second.close()


@contextmanager
def slow_and_idle(server: Server, count: int) -> Iterator[list[socket.socket]]:
    """`count` idle connections and `count` sending a request's headers a byte a second."""
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2 * count)]
    stop = threading.Event()
    request = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"x" * 100

    def trickle() -> None:
        for byte in request:
            for sock in socks[count:]:
                with suppress(OSError):
                    sock.send(bytes([byte]))
            if stop.wait(1.0):
                return

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        yield socks
    finally:
        stop.set()
        sender.join(5)
        for sock in socks:
            sock.close()


def test_idle_and_slowly_sending_connections_do_not_keep_a_new_client_waiting(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    with slow_and_idle(server, 300):
        time.sleep(2)  # a few bytes of every slow request are in
        for _ in range(5):
            answer = requests.get(f"{server.url}/healthz", timeout=READ_TIMEOUT)
            assert answer.status_code == 200
        assert server.get("/jobs")["items"] == []


def test_kept_alive_connections_lose_no_request_across_idle_gaps(
    start_server: Callable[..., Server],
) -> None:
    """httpx and requests as used by default, gaps around gunicorn's default keep-alive (2 s)
    and httpx's own (5 s): every request is answered, none meets a closing connection."""
    server = start_server()
    token = server.http.headers["Authorization"]
    failures: list[str] = []

    def client(number: int) -> int:
        rng = random.Random(number)
        answered = 0
        use_httpx = number % 2 == 0
        session: httpx.Client | requests.Session
        session = httpx.Client() if use_httpx else requests.Session()
        session.headers["Authorization"] = token
        with session:
            for n in range(10):
                time.sleep(rng.uniform(0, 6))
                try:
                    if n % 3 == 2:
                        body = {"kind": "sleep", "params": {"seconds": 0.01}}
                        answer = session.post(f"{server.url}/api/v1/jobs", json=body, timeout=30)
                        ok = answer.status_code == 201
                    else:
                        ok = session.get(f"{server.url}/healthz", timeout=30).status_code == 200
                    answered += ok
                except (httpx.HTTPError, requests.RequestException) as error:
                    failures.append(f"client {number} request {n}: {error!r}")
        return answered

    with ThreadPoolExecutor(30) as pool:
        answered = sum(pool.map(client, range(30)))
    assert failures == []
    assert answered == 300
