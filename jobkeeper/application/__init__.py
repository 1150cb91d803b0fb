"""The use cases: the eventsourcing Application that turns commands into events."""
