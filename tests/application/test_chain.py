"""Both forms of an event's hash. The row form: the SHA-256 the README gives of a row's
envelope and bytes, changing with each byte, its links read back off its end. The first form:
exactly what Python's json module writes with sorted keys, no spaces and UTF-8, whichever
encoder computed it; and a hash that changes with any part of an event."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobkeeper.application import chain

SCALARS = (
    st.none() | st.booleans() | st.text() | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-5, 1e-7, 9.99e-5, 1.5e16, 1e21, -0.0, 5e-324, 2**64, -(2**70)])
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
)
MOMENTS = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]))


def reference(stream: str, version: int, topic: str, state: dict[str, Any], prev: str) -> bytes:
    """The README's definition, spelled with the json module alone."""
    content = {k: v for k, v in state.items() if k not in chain.UNHASHED}
    document = {
        "prev": prev,
        "state": content,
        "stream": stream,
        "topic": topic,
        "version": version,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
        default=lambda value: value.isoformat(),
    )  # fmt: skip
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=400, deadline=None)
@given(state=st.dictionaries(st.text(), VALUES, max_size=6), at=MOMENTS, prev=st.text())
def test_the_canonical_form_is_what_the_json_module_writes(
    state: dict[str, Any], at: datetime, prev: str
) -> None:
    state = {**state, "timestamp": at, chain.HASH: "x", chain.PREV: "y"}
    expected = reference("job-1", 3, "t:T", state, prev)
    assert chain.canonical("job-1", 3, "t:T", state, prev) == expected


def test_the_hash_changes_with_each_part_of_an_event() -> None:
    state = {"timestamp": datetime(2030, 1, 1, tzinfo=UTC), "by": "alice", "progress": 0.5}
    base = chain.link("job-1", 3, "t:T", state, "p")
    changed = [
        chain.link("job-2", 3, "t:T", state, "p"),
        chain.link("job-1", 4, "t:T", state, "p"),
        chain.link("job-1", 3, "t:U", state, "p"),
        chain.link("job-1", 3, "t:T", state, "q"),
        chain.link("job-1", 3, "t:T", {**state, "progress": 0.50000001}, "p"),
        chain.link("job-1", 3, "t:T", {**state, "by": "bob"}, "p"),
    ]
    assert len({base, *changed}) == 7 and all(len(h) == 64 for h in changed)
    assert chain.link("job-1", 3, "t:T", {**state, chain.HASH: "anything"}, "p") == base


def test_every_hash_is_the_standard_sha256_of_its_form_and_leaves_the_next_alone() -> None:
    """Hashes are copies of one fresh SHA-256: none of them may change the next."""
    at = datetime(2030, 1, 1, tzinfo=UTC)
    for lines in (1, 100, 1):
        state = {"timestamp": at, "lines": [{"at": "2030-01-01", "text": "x" * 40}] * lines}
        form = chain.canonical("job-1", 3, "t:T", state, "p")
        assert chain.link("job-1", 3, "t:T", state, "p") == hashlib.sha256(form).hexdigest()


def sealed_reference(stream: str, version: int, topic: str, plain: bytes) -> str:
    """The README's row form, spelled with the json module alone."""
    envelope = json.dumps([stream, version, topic], separators=(",", ":"), ensure_ascii=False)
    hashed = envelope.encode("utf-8", "surrogatepass") + b"\n" + plain[:-66] + b"0" * 64 + b'"}'
    return hashlib.sha256(hashed).hexdigest()


def encoded(state: dict[str, Any], prev: str) -> bytes:
    content = {k: v for k, v in state.items() if k not in (chain.PREV, chain.FORM, chain.HASH)}
    content.update({chain.PREV: prev, chain.FORM: chain.ROW, chain.HASH: chain.BLANK})
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=300, deadline=None)
@given(
    state=st.dictionaries(st.text(), VALUES, max_size=6),
    stream=st.text(st.characters(blacklist_categories=("Cs",))),
    topic=st.text(st.characters(blacklist_categories=("Cs",))),
    version=st.integers(1, 2**63 - 1),
    prev=st.sampled_from([chain.GENESIS, "ab" * 32]),
)
def test_a_sealed_row_holds_the_hash_the_readme_gives_and_its_links_read_back(
    state: dict[str, Any], stream: str, topic: str, version: int, prev: str
) -> None:
    row, digest = chain.seal(stream, version, topic, encoded(state, prev))
    assert digest == sealed_reference(stream, version, topic, row)
    assert row.endswith(b',"chain":"' + digest.encode() + b'"}')
    assert json.loads(row)[chain.HASH] == digest
    assert chain.row_hash(stream, version, topic, row) == digest
    assert chain.row_links(row) == (prev, digest)


def test_a_row_hash_changes_with_every_byte_and_with_its_place() -> None:
    row, digest = chain.seal("job-1", 3, "t:T", encoded({"progress": 0.5, "by": "al"}, ""))
    for i in range(len(row) - 66):  # every byte before its own hash
        changed = row[:i] + bytes([row[i] ^ 1]) + row[i + 1 :]
        assert chain.row_hash("job-1", 3, "t:T", changed) != digest
    assert chain.row_hash("job-2", 3, "t:T", row) != digest
    assert chain.row_hash("job-1", 4, "t:T", row) != digest
    assert chain.row_hash("job-1", 3, "t:U", row) != digest
    assert chain.row_hash("job-1", 3, "t:T", row[:-3] + b'"}') is None  # no hash at its end
    assert chain.row_links(row.replace(b'"chain_form":2', b'"chain_form":3')) is None
    with pytest.raises(ValueError, match="blank hash"):
        chain.seal("job-1", 3, "t:T", row)  # sealed already


def test_the_links_of_a_long_row_are_read_off_its_end_alone() -> None:
    row, digest = chain.seal("job-1", 3, "t:T", encoded({"text": "x" * 5000}, "cd" * 32))
    assert chain.row_links(row) == ("cd" * 32, digest)
    assert chain.row_links(b"[" + row[1:]) == ("cd" * 32, digest)  # only its end is read
