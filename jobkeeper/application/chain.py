"""The hash chain of an event stream: each event's hash covers its content and the hash of
the event before it, so changing, removing or reordering a recorded event shows.

Both forms are written down in the README ("Audit"). New events are hashed in the row form:
the hash covers the event's envelope and its stored row itself, byte for byte, with its own
hash blanked (`seal`, done by `SealingMapper` as the event is recorded; `row_hash` checks it):
nothing is encoded twice, and no JSON library's way of writing numbers is part of the proof.
Events recorded before it carry a hash in the first form, the SHA-256 of a canonical JSON
object (`canonical`, `link`), and are checked in that form. Hashing is pure: the same event
always gives the same hash.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic


def _interpreters_sha256() -> Callable[[], Any]:
    """The interpreter's own SHA-256 (`_sha256` in 3.11, `_sha2` from 3.12), else hashlib's."""
    for name in ("_sha2", "_sha256"):
        try:
            return cast(Callable[[], Any], importlib.import_module(name).sha256)
        except (ImportError, AttributeError):
            continue
    return hashlib.sha256  # pragma: no cover - every CPython has one


_SMALL_SHA256 = _interpreters_sha256()
_SHA256 = hashlib.sha256()
SMALL = 2048
"""Fewer bytes than this are hashed by the interpreter's own SHA-256, more by a copy of a fresh
OpenSSL one: the same digest, at the lower cost for each size in the middle of a save (OpenSSL's
fixed cost per hash outweighs its speed per byte on a short event; a copy costs less than a new
context, which OpenSSL sets up through its provider layer; bench/audit_chain.py)."""


def _sha256(*parts: bytes | memoryview) -> str:
    """The lower-case hex SHA-256 of the parts, one after the other (not joined: a long row
    is not copied to be hashed)."""
    small = sum(len(part) for part in parts) < SMALL
    hasher = _SMALL_SHA256() if small else _SHA256.copy()
    for part in parts:
        hasher.update(part)
    digest: str = hasher.hexdigest()
    return digest


HASH = "chain"
"""The key of an event's own hash in its recorded state."""
PREV = "chain_prev"
"""The key of the previous event's hash in its recorded state ("" on a chain's first event)."""
HEAD = "_chain_head"
"""The attribute of an aggregate that holds the hash of its latest event."""
GENESIS = ""
"""What a chain's first event links to."""
FORM = "chain_form"
"""The key of the form an event's hash was computed in; absent on events hashed in the
first form (`canonical`), ROW on events whose hash covers their stored row (`seal`)."""
ROW = 2
UNHASHED = frozenset({HASH, PREV, FORM, "originator_id", "originator_version", "class_version"})
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
    """The first form: the bytes that were hashed for one event, its stream, version, type,
    content and the previous event's hash, as one canonical JSON object. orjson writes the
    same bytes as `json` many times faster for all but a few numbers, so it is tried first
    (tests/application/test_chain.py compares the two)."""
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
    """The hash of one event in the first form (lower-case hex SHA-256 of `canonical`)."""
    return _sha256(canonical(stream, version, topic, state, prev))


def head_of(aggregate: Any) -> str:
    """The hash of the aggregate's latest hashed event (GENESIS when it has none)."""
    head: str = vars(aggregate).get(HEAD, GENESIS)
    return head


# The row form: what new events are hashed in.

BLANK = "0" * 64
"""What stands for an event's own hash in the bytes that are hashed."""
_HASH_FIELD = b',"chain":"'
_BLANK_END = _HASH_FIELD + BLANK.encode("ascii") + b'"}'
_TAIL = len(BLANK) + 2


@dataclass(frozen=True)
class After:
    """Links a new event to the one before it in the same save, whose hash is known only
    once that one is sealed."""

    event: Any

    @property
    def hash(self) -> str:
        head = vars(self.event).get(HASH)
        if not isinstance(head, str) or head == BLANK:
            raise RuntimeError("an event is sealed before the one it links to")
        return head


def _row_hash(stream: str, version: int, topic: str, *parts: bytes | memoryview) -> str:
    """SHA-256 of the envelope (`[stream,version,topic]`, as orjson and `json` alike write
    it: text and an integer) and a newline, then the parts of the row with its own hash
    blanked."""
    return _sha256(orjson.dumps([stream, version, topic]), b"\n", *parts)


def seal(stream: str, version: int, topic: str, plain: bytes) -> tuple[bytes, str]:
    """The row of a new event with its own hash in place of the BLANK it was encoded with
    (as its last key), and that hash."""
    if not plain.endswith(_BLANK_END):
        raise ValueError("an event to seal ends with its blank hash")
    digest = _row_hash(stream, version, topic, plain)
    return plain[:-_TAIL] + digest.encode("ascii") + b'"}', digest


_LINKS = re.compile(
    rb'[{,]"chain_prev":"([0-9a-f]{64}|)","chain_form":2,"chain":"([0-9a-f]{64})"}\Z'
)
_LINKS_SPAN = len(b',"chain_prev":"","chain_form":2,"chain":""}') + 2 * len(BLANK)
"""The longest end `_LINKS` matches (both hashes of 64 digits)."""


def row_links(plain: bytes) -> tuple[str, str] | None:
    """The link and the hash a sealed row ends with, read off its last bytes without
    decoding the rest (None when the row does not end so)."""
    found = _LINKS.search(plain, max(0, len(plain) - _LINKS_SPAN))
    if found is None:
        return None
    return found[1].decode("ascii"), found[2].decode("ascii")


def row_hash(stream: str, version: int, topic: str, plain: bytes) -> str | None:
    """The hash a sealed row should hold (None when the row does not end in a hash)."""
    if plain[-_TAIL - len(_HASH_FIELD) : -_TAIL] != _HASH_FIELD or not plain.endswith(b'"}'):
        return None
    blank = _BLANK_END[len(_HASH_FIELD) :]
    return _row_hash(stream, version, topic, memoryview(plain)[:-_TAIL], blank)


class SealingMapper(Mapper[Any]):
    """The library's mapper, sealing each event that was given a link to the one before it:
    its state is encoded with its link, FORM and a BLANK hash last, hashed, and the hash put
    in place (in the row and in the event). Events are sealed in the order they are saved,
    so an `After` link resolves to a hash already made."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = vars(domain_event)
        prev = state.get(PREV)
        if prev is None:
            return super().to_stored_event(domain_event)
        if isinstance(prev, After):
            prev = state[PREV] = prev.hash
        topic = get_topic(type(domain_event))
        event_state = dict(state)
        stream = event_state.pop("originator_id")
        version = event_state.pop("originator_version")
        for key in (PREV, FORM, HASH):
            event_state.pop(key, None)
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        event_state[PREV] = prev
        event_state[FORM] = ROW
        event_state[HASH] = BLANK
        row, digest = seal(str(stream), version, topic, self.transcoder.encode(event_state))
        state[FORM] = ROW
        state[HASH] = digest
        if self.compressor:
            row = self.compressor.compress(row)
        if self.cipher:
            row = self.cipher.encrypt(row)
        return StoredEvent(originator_id=stream, originator_version=version, topic=topic, state=row)
