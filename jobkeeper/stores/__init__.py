"""Adapters to the backends: the SQLite event store, PostgreSQL helpers, and feeds."""
