"""Broker selection from a URL: memory://, redis://... or amqp://..."""

from __future__ import annotations

from urllib.parse import urlparse

import dramatiq
from dramatiq.brokers.stub import StubBroker


class BrokerURLError(ValueError):
    """Raised when the broker URL names no supported broker."""


def open_broker(url: str, namespace: str = "jobkeeper") -> dramatiq.Broker:
    """The dramatiq broker that `url` names."""
    scheme = urlparse(url).scheme
    if scheme == "memory":
        broker: dramatiq.Broker = StubBroker()
    elif scheme in ("redis", "rediss"):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url, namespace=namespace)
    elif scheme in ("amqp", "amqps"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    else:
        raise BrokerURLError(
            f"broker URL {url!r} is not supported; use memory://, redis://host:port/db "
            "or amqp://user:password@host:port/"
        )
    return broker
