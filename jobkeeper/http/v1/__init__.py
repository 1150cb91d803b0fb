"""The v1 JSON API under /api/v1: jobs with their commands, logs, history and stream; users,
tokens and kinds."""
