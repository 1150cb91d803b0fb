"""JSON out: how values the API answers with become bytes."""

from __future__ import annotations

import json
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
