"""The REST API: a Falcon WSGI app that turns requests into domain commands and view queries."""
