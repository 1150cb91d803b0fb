"""Job kinds: what a job does, step by step. See `kind.py` for the interface."""

from jobkeeper.kinds.kind import Context, Kind, Step
from jobkeeper.kinds.registry import KindRegistry, default_registry

__all__ = ["Context", "Kind", "KindRegistry", "Step", "default_registry"]
