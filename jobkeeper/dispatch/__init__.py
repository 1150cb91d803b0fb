"""Dispatch: dramatiq carries "run job N" to a worker's job host. The only place dramatiq appears."""
