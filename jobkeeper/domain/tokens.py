"""Bearer tokens: `jk_<user>_<token id>_<secret>`, kept only as SHA-256 digests.

The user's name and the token id in the clear let a request find its user and token with one
read; the secret is 32 random bytes, so a fast digest is enough (nothing to brute-force) and the
comparison is made in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

PREFIX = "jk"
CONFIGURED = ("admin", "configured")
"""Where a token chosen by the operator (not of our shape) is kept: admin's token `configured`."""


@dataclass(frozen=True)
class NewToken:
    """A token as issued: shown once, never stored."""

    token_id: str
    token: str
    digest: str


def make_token(user: str, token_id: str, secret: str) -> NewToken:
    """The token of `user` with the given id and secret (the application draws them at random)."""
    token = f"{PREFIX}_{user}_{token_id}_{secret}"
    return NewToken(token_id, token, digest(token))


def configured_token(token: str) -> NewToken:
    """An operator's chosen token, kept as the token `configured`."""
    return NewToken(CONFIGURED[1], token, digest(token))


def digest(token: str) -> str:
    """The SHA-256 digest (hex) under which a token is recorded."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """The user name and token id a token names, or None if it is not shaped like one."""
    parts = token.split("_")
    if len(parts) < 4 or parts[0] != PREFIX:
        return None
    user, token_id = "_".join(parts[1:-2]), parts[-2]
    return (user, token_id) if user and token_id else None


def matches(token: str, recorded_digest: str) -> bool:
    """Whether `token` is the one recorded under `recorded_digest`, compared in constant time."""
    return hmac.compare_digest(digest(token), recorded_digest)
