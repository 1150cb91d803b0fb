"""Opaque cursors for newest-first job pages, and the next-page markers of every list."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import falcon
import orjson

from jobkeeper.http.models import MAX_ID


def encode_cursor(before: int) -> str:
    """A cursor for the page of jobs with ids below `before`."""
    return base64.urlsafe_b64encode(orjson.dumps({"before": before})).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The `before` id a cursor stands for; 400 when the cursor is not one of ours."""
    if cursor is None:
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:  # binascii.Error is one
        data = None
    before = data.get("before") if isinstance(data, dict) else None
    if type(before) is not int or not 1 <= before <= MAX_ID + 1:
        raise falcon.HTTPBadRequest(
            title="Invalid query",
            description="cursor: not a cursor from this API; use next_cursor of the previous page",
        )
    return before


def split_page(rows: Sequence[Any], limit: int) -> tuple[Sequence[Any], bool]:
    """The first `limit` rows (of `limit + 1` fetched), and whether more follow."""
    return rows[:limit], len(rows) > limit
