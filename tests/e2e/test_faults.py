"""Scaled mode through faults: PostgreSQL and the broker stop and come back, the projector
and an API process are killed, a worker freezes; with 20 jobs running and commands arriving.

The cluster runs on a PostgreSQL and a Redis of its own (free ports), so the test can stop
them. Every job must end with the exact count and one terminal event, runs never overlap,
every command answered 2xx is in the history, the API answers 503 with Retry-After (never
500, never a long hang) while a server is down, and recovers by itself.
"""

from __future__ import annotations

import itertools
import signal
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import SCALED_MARKS
from tests.e2e.cluster import Cluster, Process, scaled_cluster
from tests.e2e.harness import TERMINAL, Server, wait_for
from tests.e2e.servers import PrivatePostgres, PrivateRabbitmq, PrivateRedis
from tests.e2e.test_scaled import PRIMES_TO_300K, assert_runs_never_overlap

pytestmark = [pytest.mark.e2e, pytest.mark.slow, *SCALED_MARKS]

JOBS = 20
OUTAGE = 10.0  # seconds a server stays down
WORKER_TIMEOUT = 3.0
HANG = 8.0  # no answer may take this long while a server is down (connections wait 3 s)
COMMAND_EVENTS = {"stop": ("StopRequested", "Stopped"), "resume": ("Resumed",)}


@dataclass
class Answer:
    phase: str
    api: str
    job: int
    command: str  # "stop", "resume", or "read"
    status: int  # the HTTP status; 0 when no answer came (connection lost)
    seconds: float
    retry_after: str | None
    version: int | None


class Traffic:
    """A client sending stop and resume to the jobs in turn, and reading them, through the
    API processes that are up; it keeps every answer and how long it took."""

    def __init__(self, apis: list[Server], ids: list[int]) -> None:
        self.apis, self.ids = list(apis), ids
        self.phase = "steady"
        self.answers: list[Answer] = []
        self.next = dict.fromkeys(ids, "stop")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(30)

    def replace(self, old: Server | None, new: Server | None) -> None:
        with self._lock:
            if old is not None:
                self.apis.remove(old)
            if new is not None:
                self.apis.append(new)

    def _run(self) -> None:
        for n in itertools.count():
            if self._stopping.is_set():
                return
            job = self.ids[n % len(self.ids)]
            with self._lock:
                api = self.apis[n % len(self.apis)]
            self._command(api, job)
            self._read(api, job)
            self._stopping.wait(0.2)

    def _command(self, api: Server, job: int) -> None:
        command = self.next[job]
        url = f"{api.url}/api/v1/jobs/{job}/{command}"
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        answer = self._send(
            api, job, command, lambda: api.http.post(url, headers=headers, timeout=20)
        )
        if answer is not None and answer.status in (200, 409):
            self.next[job] = "resume" if command == "stop" else "stop"

    def _read(self, api: Server, job: int) -> None:
        self._send(
            api, job, "read", lambda: api.http.get(f"{api.url}/api/v1/jobs/{job}", timeout=20)
        )

    def _send(self, api: Server, job: int, command: str, send: Any) -> Answer | None:
        phase, started = self.phase, time.monotonic()
        try:
            response = send()
        except requests.RequestException:
            status, retry_after, version = 0, None, None
        else:
            status, retry_after = response.status_code, response.headers.get("Retry-After")
            body = response.json() if status == 200 else {}
            version = body.get("version") if isinstance(body, dict) else None
        answer = Answer(phase, api.url, job, command, status,
                        time.monotonic() - started, retry_after, version)  # fmt: skip
        self.answers.append(answer)
        return answer

    def during(self, phase: str) -> list[Answer]:
        return [a for a in self.answers if a.phase == phase]


@pytest.fixture
def servers() -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    postgres = PrivatePostgres()
    try:
        redis = PrivateRedis()
        try:
            yield postgres, redis
        finally:
            redis.remove()
    finally:
        postgres.remove()


@pytest.fixture
def cluster(tmp_path: Path, servers: tuple[PrivatePostgres, PrivateRedis]) -> Iterator[Cluster]:
    postgres, redis = servers
    backend = {
        "database_url": postgres.url,
        "broker_url": redis.url,
        "redis_url": redis.url,  # the rate-limit counters too
        "queue": "jobkeeper-faults",
        "worker_timeout": WORKER_TIMEOUT,
        "rate_commands": "100000/minute",
        "rate_reads": "100000/minute",
    }
    with scaled_cluster(tmp_path, backend=backend) as running:
        yield running


@pytest.mark.timeout(420)
def test_jobs_and_commands_survive_faults_of_servers_and_processes(
    cluster: Cluster, servers: tuple[PrivatePostgres, PrivateRedis], tmp_path: Path
) -> None:
    postgres, redis = servers
    first = cluster.apis[0]
    ids = [first.submit("primes", limit=300_000, chunk=3_000, delay=0.4) for _ in range(JOBS)]
    wait_for(lambda: all(first.job(j)["status"] == "running" for j in ids), 60, "all running")
    with Traffic(cluster.apis, ids) as traffic:
        freeze_a_worker(cluster, first, traffic)
        kill_the_projector(cluster, traffic, tmp_path)
        kill_an_api_mid_command(cluster, traffic, tmp_path, ids)
        stop_a_server(redis, "broker", cluster, traffic)
        stop_a_server(postgres, "postgres", cluster, traffic)
        traffic.phase = "end"
    assert_answers(traffic)
    assert any(a.status == 503 for a in traffic.during("postgres down"))
    assert_jobs_exact(cluster.apis[-1], ids, traffic)


def assert_jobs_exact(api: Server, ids: list[int], traffic: Traffic) -> None:
    """Every job ends with the exact count, one terminal event and no overlapping runs;
    every command answered 200 is in its history; the views catch up."""
    for job_id in ids:
        if api.job(job_id)["status"] in ("stopping", "stopped"):
            api.wait_status(job_id, "stopped", timeout=60)
            api.post(f"/jobs/{job_id}/resume")
    for job_id in ids:
        job = api.wait_status(job_id, *TERMINAL, timeout=240)
        assert job["status"] == "succeeded" and job["result"] == {"count": PRIMES_TO_300K}, job
        history = full_history(api, job_id)
        assert sum(h["type"] in ("Succeeded", "Failed", "Cancelled") for h in history) == 1
        assert_runs_never_overlap(history)
        assert_commands_recorded(traffic, job_id, history)
    # the views caught up with everything, after the projector's death and both outages
    wait_for(lambda: set(api.ids("/jobs/finished?limit=100")) == set(ids), 60, "views caught up")


@pytest.fixture
def rabbitmq_cluster(tmp_path: Path) -> Iterator[tuple[Cluster, PrivateRabbitmq]]:
    postgres = PrivatePostgres()
    try:
        rabbitmq = PrivateRabbitmq()
        try:
            backend = {"database_url": postgres.url, "broker_url": rabbitmq.url,
                       "queue": "jobkeeper-faults", "worker_timeout": WORKER_TIMEOUT}  # fmt: skip
            with scaled_cluster(tmp_path, backend=backend) as running:
                yield running, rabbitmq
        finally:
            rabbitmq.remove()
    finally:
        postgres.remove()


@pytest.mark.rabbitmq
@pytest.mark.timeout(300)
def test_jobs_and_commands_survive_a_rabbitmq_restart(
    rabbitmq_cluster: tuple[Cluster, PrivateRabbitmq],
) -> None:
    cluster, rabbitmq = rabbitmq_cluster
    first = cluster.apis[0]
    ids = [first.submit("primes", limit=300_000, chunk=10_000, delay=0.5) for _ in range(JOBS)]
    wait_for(lambda: all(first.job(j)["status"] == "running" for j in ids), 60, "all running")
    with Traffic(cluster.apis, ids) as traffic:
        stop_a_server(rabbitmq, "broker", cluster, traffic)
        traffic.phase = "end"
    assert_answers(traffic)
    assert_jobs_exact(cluster.apis[-1], ids, traffic)


def freeze_a_worker(cluster: Cluster, api: Server, traffic: Traffic) -> None:
    """(e) SIGSTOP a worker with live jobs for longer than the worker timeout, then SIGCONT:
    its jobs move to other workers, and it must not take steps of theirs when it wakes.

    Which jobs it holds is read while it is frozen (it cannot record anything then): the
    client's stops may have ended every run it had between choosing it and freezing it, and
    then it is woken and another is chosen."""
    traffic.phase = "worker frozen"
    deadline = time.monotonic() + 60
    while True:
        victim = wait_for(lambda: next((w for w in cluster.workers if held_by(api, w)), None),
                          30, "a worker with live jobs")  # fmt: skip
        if frozen_until_handed_back(api, victim):
            break
        assert time.monotonic() < deadline, "no worker kept a live job long enough to freeze it"
    traffic.phase = "steady"


def frozen_until_handed_back(api: Server, victim: Process) -> bool:
    """Freeze `victim`, wait until the live jobs it held then are handed back, wake it;
    False (at once) if it held none."""
    victim.kill(signal.SIGSTOP)
    try:
        held = held_by(api, victim)
        if held:
            wait_for(lambda: released(api, victim, held), 60, f"jobs {held} handed back")
        return bool(held)
    finally:
        victim.kill(signal.SIGCONT)


def held_by(api: Server, worker: Process, ids: list[int] | None = None) -> list[int]:
    """The live jobs (running, stopping or cancelling) whose current run `worker` started:
    among `ids`, or among all the running jobs."""
    if ids is None:
        ids = [int(item["id"]) for item in api.get("/jobs/running?limit=100")["items"]]
    found = []
    for job_id in ids:
        if api.job(job_id)["status"] not in ("running", "stopping", "cancelling"):
            continue
        started = [h for h in full_history(api, job_id) if h["type"] == "Started"]
        pid = started[-1]["data"]["worker"].split(":")[1] if started else None
        if pid == str(worker.process.pid):
            found.append(job_id)
    return found


def released(api: Server, worker: Process, ids: list[int]) -> bool:
    """Whether `worker` holds none of `ids` any more (polled every 0.3 s)."""
    if held_by(api, worker, ids):
        time.sleep(0.3)
        return False
    return True


def kill_the_projector(cluster: Cluster, traffic: Traffic, folder: Path) -> None:
    """(c) SIGKILL the projector and start another one."""
    traffic.phase = "projector killed"
    assert cluster.projector is not None
    cluster.projector.kill()
    cluster.projector.process.wait(10)
    cluster.projector = Process("projector", folder / "projector-2.log", cluster.env)
    wait_for(cluster.projector.running, 30, "the new projector running")
    traffic.phase = "steady"


def kill_an_api_mid_command(
    cluster: Cluster, traffic: Traffic, folder: Path, ids: list[int]
) -> None:
    """(d) SIGKILL an API process while commands are in flight on it; their retries with
    the same Idempotency-Key on another process record each command at most once."""
    traffic.phase = "api killed"
    victim, other = cluster.apis[0], cluster.apis[1]
    traffic.replace(victim, None)
    sent: dict[int, tuple[str, int]] = {}  # job -> (key, status; 0 when the answer was lost)

    def command(job_id: int) -> None:
        key = uuid.uuid4().hex
        try:
            response = victim.http.post(f"{victim.url}/api/v1/jobs/{job_id}/stop",
                                        headers={"Idempotency-Key": key}, timeout=20)  # fmt: skip
            sent[job_id] = (key, response.status_code)
        except requests.RequestException:
            sent[job_id] = (key, 0)

    threads = [threading.Thread(target=command, args=(j,)) for j in ids[:10]]
    for thread in threads:
        thread.start()
    time.sleep(0.02)  # the scenario: the process dies while the commands are being answered
    victim.signal(signal.SIGKILL)
    for thread in threads:
        thread.join(30)
    for job_id, (key, status) in sent.items():
        assert status in (0, 200, 409), (job_id, status)
        url = f"{other.url}/api/v1/jobs/{job_id}/stop"
        retry = other.http.post(url, headers={"Idempotency-Key": key}, timeout=20)
        assert retry.status_code in (200, 409), retry.text
        again = other.http.post(url, headers={"Idempotency-Key": key}, timeout=20)
        assert again.status_code == retry.status_code
        assert again.headers.get("Idempotent-Replayed") == "true"
        if retry.status_code == 200:
            traffic.next[job_id] = "resume"
            version = retry.json()["version"]
            traffic.answers.append(Answer("api killed", other.url, job_id, "stop", 200, 0.0,
                                          None, version))  # fmt: skip
    replacement = Server(folder, folder / "api-2.log", cluster.env, ("api", "--workers", "1"))
    replacement.wait_healthy()
    cluster.apis[0] = replacement
    victim.stop()
    traffic.replace(None, replacement)
    print(f"API killed with {sum(s == 0 for _, s in sent.values())} of {len(sent)} answers lost")
    traffic.phase = "steady"


def stop_a_server(
    server: PrivatePostgres | PrivateRedis | PrivateRabbitmq,
    name: str,
    cluster: Cluster,
    traffic: Traffic,
) -> None:
    """(a), (b) Stop the server for OUTAGE seconds, then start it again; the API must answer
    throughout and recover by itself."""
    traffic.phase = f"{name} down"
    server.stop()
    ready: list[tuple[int, str]] = []
    deadline = time.monotonic() + OUTAGE
    while time.monotonic() < deadline:  # the outage itself: /readyz must say what is down
        response = cluster.apis[0].http.get(f"{cluster.apis[0].url}/readyz", timeout=20)
        ready.append((response.status_code, response.text))
        time.sleep(0.5)
    server.start()
    traffic.phase = f"{name} back"
    assert any(s == 503 for s, _ in ready), ready
    what = "event store" if name == "postgres" else "broker"
    assert all(what in text for s, text in ready if s == 503), ready

    def every_api_answers() -> bool:
        return all(api.http.get(f"{api.url}/api/v1/jobs?limit=1", timeout=20).status_code == 200
                   for api in cluster.apis)  # fmt: skip

    wait_for(every_api_answers, 60, f"the API answering again after {name} came back")
    traffic.phase = f"after {name}"
    wait_for(lambda: len(traffic.during(f"after {name}")) >= 20, 60, "traffic after recovery")


def assert_answers(traffic: Traffic) -> None:
    """No 500 ever; 503 only with Retry-After; no hang while a server was down; 503 while
    PostgreSQL was down; nothing but answers once a server was back."""
    for phase in dict.fromkeys(a.phase for a in traffic.answers):
        answers = traffic.during(phase)
        seconds = [a.seconds for a in answers]
        statuses = sorted({a.status for a in answers})
        print(f"{phase}: {len(answers)} requests, statuses {statuses}, "
              f"median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s")  # fmt: skip
    for answer in traffic.answers:
        assert answer.status < 500 or answer.status == 503, answer
        if answer.status == 503:
            assert answer.retry_after is not None and int(answer.retry_after) > 0, answer
        if answer.status == 0:  # only the API process that was killed loses answers
            assert answer.phase == "api killed", answer
    for phase in ("postgres down", "broker down"):
        assert max((a.seconds for a in traffic.during(phase)), default=0) < HANG, phase
    assert all(a.status in (200, 409) for a in traffic.during("broker down"))
    for phase in ("after postgres", "after broker"):
        assert all(a.status in (200, 409) for a in traffic.during(phase)), phase


def assert_commands_recorded(traffic: Traffic, job_id: int, history: list[dict[str, Any]]) -> None:
    """Every command answered 200 left the job at a version that is in its history, and a
    command that changed the job shows as its event there, by the user who sent it."""
    versions = {h["version"]: h for h in history}
    for answer in traffic.answers:
        if answer.job != job_id or answer.command == "read" or answer.status != 200:
            continue
        assert answer.version in versions, (answer, history[-3:])
        event = versions[answer.version]
        if event["by"] == "admin":
            assert event["type"] in COMMAND_EVENTS["stop"] + COMMAND_EVENTS["resume"], event


def full_history(api: Server, job_id: int) -> list[dict[str, Any]]:
    """Every event of a job, following the history's pages."""
    entries: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = api.get(f"/jobs/{job_id}/history?limit=1000&after={after}")
        entries.extend(page["items"])
        after = page["next_after"]
    return entries
