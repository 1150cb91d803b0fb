"""Giving memory back to the system after a large answer.

glibc's allocator keeps one arena per thread that allocated, and after a large block is
freed it raises the size above which blocks are mapped on their own; so memory freed after
sixteen threads each built a large page stays in the process, counted as resident, until
something asks for it back. `malloc_trim(0)` returns every arena's free pages (bench:
bench/RESULTS.md, "Jobs that run for weeks", memory after bursts of large legacy pages).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def _find_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _find_trim()


def release_free_memory() -> None:
    """Return the allocator's free memory to the system, where the C library can."""
    if _TRIM is not None:
        _TRIM(0)
