"""The hash chain of an event stream: each event's hash covers its content and the hash of
the event before it, so changing, removing or reordering a recorded event shows.

The canonical form is written down in the README ("Audit"): JSON with sorted keys, no spaces,
UTF-8, and datetimes and UUIDs as their text; exactly what Python's `json` writes with those
options. orjson writes the same bytes many times faster for all but a few numbers, so it is
tried first (tests/application/test_chain.py compares the two). Hashing is pure: the same event
always gives the same hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

HASH = "chain"
"""The key of an event's own hash in its recorded state."""
PREV = "chain_prev"
"""The key of the previous event's hash in its recorded state ("" on a chain's first event)."""
HEAD = "_chain_head"
"""The attribute of an aggregate that holds the hash of its latest event."""
GENESIS = ""
"""What a chain's first event links to."""
UNHASHED = frozenset({HASH, PREV, "originator_id", "originator_version", "class_version"})
"""State keys that are not part of an event's content (the envelope is hashed on its own)."""

_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
    check_circular=False, default=lambda value: _text(value),
).encode  # fmt: skip
"""The canonical form itself (event content holds no cycles: no need to look for them)."""
_FAST = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_FAST_DIFFERS = (b"e-", b"0.0000")
"""What orjson writes only for numbers it writes differently (small floats): their events are
encoded by `_encode`; a string that happens to hold these bytes only takes the slower path."""


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not part of an event's canonical form")


def canonical(stream: str, version: int, topic: str, state: Mapping[str, Any], prev: str) -> bytes:
    """The bytes that are hashed for one event: its stream, version, type, content and the
    previous event's hash, as one canonical JSON object."""
    content = {k: v for k, v in state.items() if k not in UNHASHED}
    document = {
        "prev": prev,
        "state": content,
        "stream": stream,
        "topic": topic,
        "version": version,
    }
    try:
        fast = orjson.dumps(document, default=_text, option=_FAST)
    except TypeError:  # integers beyond 64 bits, keys that are not text, lone surrogates
        fast = _FAST_DIFFERS[0]
    if _FAST_DIFFERS[0] in fast or _FAST_DIFFERS[1] in fast:
        return _encode(document).encode("utf-8", "surrogatepass")
    return fast


def link(stream: str, version: int, topic: str, state: Mapping[str, Any], prev: str) -> str:
    """The hash of one event (lower-case hex SHA-256 of its canonical form)."""
    return hashlib.sha256(canonical(stream, version, topic, state, prev)).hexdigest()


def head_of(aggregate: Any) -> str:
    """The hash of the aggregate's latest hashed event (GENESIS when it has none)."""
    head: str = vars(aggregate).get(HEAD, GENESIS)
    return head
