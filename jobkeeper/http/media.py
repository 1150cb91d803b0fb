"""JSON in and out: how request bodies become values, and values the API answers with bytes."""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import Enum
from typing import Any

import orjson


def plain(value: Any) -> Any:
    """`value` with datetimes as ISO-8601 strings, enums as their values, tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_json(value: object, *, sort_keys: bool = False) -> bytes:
    """`value` as JSON bytes; whatever orjson cannot write natively becomes its string.

    orjson refuses integers beyond 64 bits (a job's params or result may hold 2**70): such
    a value is written, exactly, by the standard library's json instead."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, default=str, option=option)
    except orjson.JSONEncodeError:
        text = json.dumps(
            plain(value), default=str, ensure_ascii=False, separators=(",", ":"),
            sort_keys=sort_keys,
        )  # fmt: skip
        return text.encode()


LONG_DIGITS = re.compile(r"\d{19}")
"""Nineteen digits in a row: the shortest integer that may not fit in 64 bits (below -2**63)."""
INTEGERS = range(-(2**63), 2**64)
"""The integers a body may hold: what orjson reads exactly (and the views write)."""


class IntegerOutOfRangeError(ValueError):
    """A request body holds an integer beyond 64 bits."""


def from_json(text: str | bytes) -> Any:
    """A request body's JSON as values (orjson). orjson would read an integer beyond 64 bits
    as the nearest float, changing it: such a body is refused, naming where the number is,
    instead of storing another number than the one sent."""
    value = orjson.loads(text)
    digits = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if LONG_DIGITS.search(digits):  # rare: read it again exactly, and look
        try:
            found = _beyond_64_bits(json.loads(digits), "")
        except RecursionError:  # orjson reads 1,024 levels; Python's json and this fewer
            raise ValueError("the body nests too deeply to check its numbers") from None
        if found is not None:
            where, number = found
            raise IntegerOutOfRangeError(
                f"{where or 'the body'}: the integer {_shortened(number)} does not fit in 64 "
                f"bits ({INTEGERS.start} to {INTEGERS.stop - 1}); send it as a string"
            )
    return value


def _beyond_64_bits(value: Any, where: str) -> tuple[str, int] | None:
    """The first integer beyond 64 bits in `value`, and where it is (keys joined by dots)."""
    if type(value) is int:
        return None if value in INTEGERS else (where, value)
    if isinstance(value, dict):
        children = [(f"{where}.{key}" if where else str(key), v) for key, v in value.items()]
    elif isinstance(value, list):
        children = [(f"{where}[{n}]", v) for n, v in enumerate(value)]
    else:
        return None
    for place, child in children:
        found = _beyond_64_bits(child, place)
        if found is not None:
            return found
    return None


def _shortened(number: int) -> str:
    text = str(number)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"
