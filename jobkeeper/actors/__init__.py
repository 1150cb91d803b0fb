"""Execution: one Pykka actor per live job, and the host that spawns, limits and reaps them."""
