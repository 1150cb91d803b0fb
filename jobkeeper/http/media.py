"""JSON out: how values the API answers with become bytes."""

from __future__ import annotations

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


def to_json(value: object) -> bytes:
    """`value` as JSON bytes; whatever orjson cannot write natively becomes its string."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
