"""Who is calling: the one place that decides, so tokens can replace it later."""

from __future__ import annotations

import falcon

ADMIN = "admin"
PUBLIC_ROUTES = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/assets/{asset}"})
"""Routes answered without credentials, even once every other request needs a token."""


def caller(req: falcon.Request) -> str:
    """The name of the user making `req`; every request is the admin until tokens arrive."""
    return ADMIN
