"""Settings: one frozen object, built from environment variables (CLI flags set them too)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import unquote, urlparse

from jobkeeper.http.rate_limits import RateLimitConfigError, parse_budget

BROKER_SCHEMES = ("memory", "redis", "rediss", "amqp", "amqps")
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
ADMIN_TOKEN_FILE = "admin-token"
"""The file in the data folder that keeps the admin's first token (read by local commands)."""


class SettingsError(ValueError):
    """Raised when a setting has a value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable about jobkeeper, with the embedded defaults."""

    data: Path = Path("jobkeeper-data")
    database_url: str = ""  # empty: SQLite files in the data folder
    broker_url: str = "memory://"
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = 32
    max_running: int = 32
    checkpoint_interval: float = 1.0
    poll_interval: float = 1.0
    max_body: int = 1024 * 1024
    log_level: str = "info"
    log_format: str = "text"  # text, or json: one JSON object per line
    queue: str = "jobkeeper"  # broker queue name, and the Redis key namespace
    worker_timeout: float = 30.0  # a worker silent this long has lost its jobs
    admin_token: str = ""  # the admin's token, chosen by the operator (else one is made)
    rate_commands: str = "60/minute"  # each user's budget of commands (or "off")
    rate_reads: str = "1200/minute"  # each user's budget of reads (or "off")
    redis_url: str = ""  # rate-limit counters shared in Redis; empty: in this process's memory
    snapshot_interval: int = 25  # events between snapshots of a job; 0: no snapshots
    max_streams_per_user: int = 20  # event streams one user may hold open at once
    commands: str = ""  # the commands file of the `command` kind; empty: no programs may run
    metrics_token: str = ""  # a token for GET /metrics alone (admins' tokens also work)
    ready_max_lag: float = 10.0  # /readyz fails while the views are further behind (seconds)
    session_hours: float = 12.0  # how long a web app session lasts
    session_secret: str = ""  # mixed into every session's signing key (same in every process)
    audit_key: str = ""  # signs the audit anchors (HMAC-SHA256); empty: unsigned
    db_pool_size: int = 4  # PostgreSQL connections each store (events, views) keeps open
    db_max_overflow: int = 16  # and how many more each may open while busy

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from JOBKEEPER_* variables, then `overrides` (CLI flags) on top."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field in fields(cls):
            if overrides.get(field.name) is not None:
                continue  # a flag wins over the environment
            raw = env.get(f"JOBKEEPER_{field.name.upper()}")
            if raw is not None and raw != "":
                values[field.name] = _parse(field.name, raw, type(getattr(cls(), field.name)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError on values that cannot work."""
        for name in ("port", "threads", "max_running", "max_body", "max_streams_per_user"):
            if int(getattr(self, name)) < (0 if name == "port" else 1):
                raise SettingsError(f"JOBKEEPER_{name.upper()} must be a positive number")
        if self.db_pool_size < 1 or self.db_max_overflow < 0:
            raise SettingsError(
                "JOBKEEPER_DB_POOL_SIZE must be a positive number and "
                "JOBKEEPER_DB_MAX_OVERFLOW 0 or more"
            )
        if self.snapshot_interval < 0:
            raise SettingsError(
                "JOBKEEPER_SNAPSHOT_INTERVAL must be 0 (no snapshots) or a positive number"
            )
        for name in (
            "checkpoint_interval", "poll_interval", "worker_timeout", "ready_max_lag",
            "session_hours",
        ):  # fmt: skip
            if float(getattr(self, name)) <= 0:
                unit = "hours" if name == "session_hours" else "seconds"
                raise SettingsError(f"JOBKEEPER_{name.upper()} must be more than 0 {unit}")
        if urlparse(self.broker_url).scheme not in BROKER_SCHEMES:
            raise SettingsError(
                f"JOBKEEPER_BROKER_URL={self.broker_url!r} is not supported; use memory://, "
                "redis://host:6379/0 or amqp://user:password@host:5672/"
            )
        self._check_rate_limits()
        if self.log_format not in ("text", "json"):
            raise SettingsError(
                f"JOBKEEPER_LOG_FORMAT={self.log_format!r} is not a log format; use text or json"
            )
        if not self.queue.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise SettingsError("JOBKEEPER_QUEUE may hold letters, digits, '-', '_' and '.'")
        self.store_env()

    def _check_rate_limits(self) -> None:
        for name in ("rate_commands", "rate_reads"):
            try:
                parse_budget(getattr(self, name), name.removeprefix("rate_"))
            except RateLimitConfigError as error:
                raise SettingsError(f"JOBKEEPER_{name.upper()}: {error}") from None
        if self.redis_url and urlparse(self.redis_url).scheme not in REDIS_SCHEMES:
            raise SettingsError(
                f"JOBKEEPER_REDIS_URL={self.redis_url!r} is not supported; use "
                "redis://host:6379/0, rediss://... or leave it empty for in-memory counters"
            )

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("memory:")

    def store_env(self) -> dict[str, str]:
        """The eventsourcing settings of the event store that `database_url` selects."""
        return _store_env(
            self.database_url, self.data, "events.db", pool_size=self._pool_size,
            postgres_pool=(self.db_pool_size, self.db_max_overflow),
        )  # fmt: skip

    def views_env(self) -> dict[str, str]:
        """The settings of the view store: beside the events, in a file of its own on SQLite."""
        return _store_env(
            self.database_url, self.data, "views.db", views=True, pool_size=self._pool_size,
            postgres_pool=(self.db_pool_size, self.db_max_overflow),
        )  # fmt: skip

    @property
    def _pool_size(self) -> int:
        """SQLite connections kept open: one per request thread, and some for the rest (the
        event streams' feed and catch-up reads among them)."""
        return self.threads + 16


def _store_env(
    url: str,
    data: Path,
    filename: str,
    views: bool = False,
    pool_size: int = 5,
    postgres_pool: tuple[int, int] = (4, 16),
) -> dict[str, str]:
    if not url:
        return _sqlite_env(str(data / filename), pool_size)
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if parsed.netloc:  # sqlite://relative/path
            path = parsed.netloc + path
        if not path:
            raise SettingsError(f"database URL {url!r} names no file; use sqlite:///path/events.db")
        if views:
            stem = Path(path)
            path = str(stem.with_name(f"{stem.stem}-views{stem.suffix or '.db'}"))
        return _sqlite_env(path, pool_size)
    if parsed.scheme in ("postgresql", "postgres"):
        database = parsed.path.lstrip("/")
        if not database or not parsed.hostname:
            raise SettingsError(
                f"database URL {url!r} must name a host and a database: "
                "postgresql://user:password@host:5432/database"
            )
        from urllib.parse import parse_qs

        schema = parse_qs(parsed.query).get("schema", [""])[0]
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": database,
            "POSTGRES_HOST": parsed.hostname,
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": str(postgres_pool[0]),
            "POSTGRES_MAX_OVERFLOW": str(postgres_pool[1]),
            # A request waits at most this long for a connection, so while the server is
            # down it answers 503 within seconds; pre-ping drops the pooled connections that
            # died with a server restart instead of failing a request on them.
            "POSTGRES_CONNECT_TIMEOUT": "3",
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "ORIGINATOR_ID_TYPE": "text",
            "AGGREGATE_CACHE_MAXSIZE": "10000",
        }
    raise SettingsError(
        f"database URL {url!r} is not supported; use sqlite:///path/events.db "
        "or postgresql://user@host:5432/database"
    )


def _sqlite_env(path: str, pool_size: int) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "jobkeeper.stores.sqlite:SQLiteStoreFactory",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "30",
        "SQLITE_POOL_SIZE": str(pool_size),
        "ORIGINATOR_ID_TYPE": "text",
        "AGGREGATE_CACHE_MAXSIZE": "10000",
    }


def _parse(name: str, raw: str, kind: type) -> object:
    try:
        if issubclass(kind, Path):
            return Path(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        return raw
    except ValueError:
        variable = f"JOBKEEPER_{name.upper()}"
        raise SettingsError(f"{variable}={raw!r} is not a valid {kind.__name__}") from None
