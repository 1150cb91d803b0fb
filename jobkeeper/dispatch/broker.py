"""Broker selection from a URL: memory://, redis://... or amqp://..."""

from __future__ import annotations

from urllib.parse import urlparse

import dramatiq
from dramatiq.brokers.stub import StubBroker

REDIS_CONNECT_TIMEOUT = 2.0  # seconds to connect to Redis
REDIS_TIMEOUT = 10.0  # seconds for Redis to answer one command


class BrokerURLError(ValueError):
    """Raised when the broker URL names no supported broker."""


def open_broker(url: str, namespace: str = "jobkeeper") -> dramatiq.Broker:
    """The dramatiq broker that `url` names; Redis keys live under `namespace`."""
    scheme = urlparse(url).scheme
    if scheme == "memory":
        return StubBroker()
    if scheme in ("redis", "rediss"):
        import redis
        from dramatiq.brokers.redis import RedisBroker

        # Bounded waits: a request that dispatches never hangs on a broker that is gone.
        pool = redis.ConnectionPool.from_url(
            url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
        return RedisBroker(namespace=namespace, connection_pool=pool)  # type: ignore[no-untyped-call]
    if scheme in ("amqp", "amqps"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise BrokerURLError(
        f"broker URL {url!r} is not supported; use memory://, redis://host:6379/0 "
        "or amqp://user:password@host:5672/"
    )


class BrokerUnreachableError(RuntimeError):
    """Raised when the broker a URL names cannot be reached (one line)."""


def check_broker(url: str, namespace: str = "jobkeeper") -> None:
    """Connect once to the broker `url` names, or raise BrokerUnreachableError."""
    broker = open_broker(url, namespace=namespace)
    try:
        client = getattr(broker, "client", None)
        if client is not None:
            client.ping()
        elif hasattr(broker, "connection"):
            broker.connection  # noqa: B018  (opens the AMQP connection)
    except Exception as error:
        text = str(error).strip()
        first = text.splitlines()[0] if text else type(error).__name__
        raise BrokerUnreachableError(f"cannot reach the broker {url}: {first}") from None
    finally:
        broker.close()
