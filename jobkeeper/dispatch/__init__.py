"""Dispatch: dramatiq carries "run job N" to a worker's job host; nowhere else uses dramatiq."""
