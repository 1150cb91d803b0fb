"""The web app: server-rendered pages over the same use cases and views as the v1 API, with
small ES modules that keep them live (server-sent events) and send commands (fetch)."""
