"""jobkeeper: a service that runs long jobs and keeps their whole story."""

__version__ = "0.1.0"
