"""The bases of every request and answer model, and the bounds of ids, on every surface."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

MAX_ID = 2**53
"""Ids above this are no id of ours (and stay far from SQLite's integer range)."""
MAX_LOG_ID = 2**63 - 1


class Body(BaseModel):
    """A request body: unknown fields are mistakes, not extensions."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """A query string: unknown parameters are ignored (caches and tools add their own)."""

    model_config = ConfigDict(extra="ignore")


class Out(BaseModel):
    """An answer body: every field is always present (null where there is no value)."""

    model_config = ConfigDict(extra="forbid", json_schema_mode_override="serialization")


class ErrorOut(Out):
    """Every error: what went wrong, and what to do about it."""

    title: str
    description: str
