"""Private PostgreSQL and Redis servers on free ports, which a test may stop and start again."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import service_missing
from tests.e2e.harness import free_port, wait_for

POSTGRES_USER = "postgres"  # initdb refuses to run as root: the cluster belongs to this user


def _as_postgres(*command: str) -> list[str]:
    """`command` run as the postgres user when we are root, else as ourselves."""
    if os.geteuid() == 0:
        return ["runuser", "-u", POSTGRES_USER, "--", *command]
    return list(command)


class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temporary folder, listening on 127.0.0.1:port."""

    def __init__(self) -> None:
        if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
            service_missing("PostgreSQL's initdb and pg_ctl", FileNotFoundError("not on PATH"))
        self.folder = Path(tempfile.mkdtemp(prefix="jobkeeper-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, POSTGRES_USER, POSTGRES_USER)
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/jobkeeper"
        self._run("initdb", "-D", str(self.data), "--auth=trust", "--username=postgres",
                  "--no-sync", "--encoding=UTF8")  # fmt: skip
        self.start()
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as connection:
            connection.execute("CREATE DATABASE jobkeeper")

    def _run(self, *command: str) -> None:
        result = subprocess.run(_as_postgres(*command), capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "start")  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: every session is told "terminating connection due to
        administrator command", as when an operator restarts the server."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(_as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"),
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """A Redis server of its own on 127.0.0.1:port that keeps nothing on disk: a restart
    comes back empty, as a broker that lost its queued messages."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            service_missing("redis-server", FileNotFoundError("not on PATH"))
        self.folder = Path(tempfile.mkdtemp(prefix="jobkeeper-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(self.folder)]  # fmt: skip
        with (self.folder / "server.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_for(lambda: _pings(client), 20, "private Redis answers")
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)
            self.process = None

    def remove(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(20)
        shutil.rmtree(self.folder, ignore_errors=True)


def _pings(client: object) -> bool:
    import redis

    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except redis.RedisError:
        time.sleep(0.05)
        return False


class PrivateRabbitmq:
    """A RabbitMQ node of its own (its own name, ports and folders) on 127.0.0.1:port."""

    def __init__(self) -> None:
        if shutil.which("rabbitmq-server") is None or shutil.which("rabbitmqctl") is None:
            service_missing("rabbitmq-server", FileNotFoundError("not on PATH"))
        self.folder = Path(tempfile.mkdtemp(prefix="jobkeeper-rabbitmq-"))
        self.port = free_port()
        self.node = f"jobkeeper{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        (self.folder / "plugins").write_text("[].\n")
        for name in ("mnesia", "log"):
            (self.folder / name).mkdir()
        if os.geteuid() == 0:  # the server's script runs the node as the rabbitmq user
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.folder)], check=True)
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_MNESIA_DIR": str(self.folder / "mnesia" / "node"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(self.folder / "mnesia" / "feature_flags"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with (self.folder / "server.out").open("ab") as out:
            self.process = subprocess.Popen(["rabbitmq-server"], stdout=out,
                                            stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)  # fmt: skip
        wait_for(self._accepts_logins, 90, "private RabbitMQ accepts logins")

    def _accepts_logins(self) -> bool:
        import pika

        if self.process is not None and self.process.poll() is not None:
            output = (self.folder / "server.out").read_text(errors="replace")[-2000:]
            pytest.fail(f"rabbitmq-server exited:\n{output}")
        parameters = pika.URLParameters(self.url)
        parameters.socket_timeout = parameters.blocked_connection_timeout = 2
        try:
            pika.BlockingConnection(parameters).close()
        except pika.exceptions.AMQPError:
            time.sleep(0.2)
            return False
        return True

    def stop(self) -> None:
        subprocess.run(["rabbitmqctl", "-n", self.node, "stop"], env=self.env,
                       capture_output=True, timeout=60)  # fmt: skip
        if self.process is not None:
            self.process.wait(30)
            self.process = None

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            if self.process is not None:
                os.killpg(self.process.pid, 9)
            shutil.rmtree(self.folder, ignore_errors=True)
