"""Redis, where rate-limit counters are shared: the check that the server answers."""

from __future__ import annotations


class RedisUnreachableError(RuntimeError):
    """Raised when JOBKEEPER_REDIS_URL cannot be reached (one line)."""


def check_redis(url: str) -> None:
    """Ping the Redis server at `url`, or raise RedisUnreachableError."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        raise RedisUnreachableError(f"cannot reach JOBKEEPER_REDIS_URL {url}: {error}") from None
    finally:
        client.close()
