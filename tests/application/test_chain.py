"""The canonical form: exactly what Python's json module writes with sorted keys, no spaces and
UTF-8, whichever encoder computed it; and a hash that changes with any part of an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

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
