"""The Idempotency-Key request header (IETF httpapi draft): a client's key for one request,
so that a retry of a POST it never got an answer to is answered, not done twice."""

from __future__ import annotations

import re

import falcon
from pydantic import BaseModel

from jobkeeper.application.app import Outcome
from jobkeeper.application.idempotency import Keyed, fingerprint
from jobkeeper.domain.idempotency import KEPT_FOR
from jobkeeper.http.auth import caller
from jobkeeper.http.media import to_json

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_TEXT = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces
HOURS = int(KEPT_FOR.total_seconds() // 3600)
DESCRIPTION = (
    "any 1 to 255 printable ASCII characters (a UUID is a good choice), quoted or not; a retry "
    f"with the same key and the same request within {HOURS} hours answers as the first did "
    f"(header {REPLAYED_HEADER}: true); the same key with another request answers 422, and "
    "while the first is being answered, 409"
)
HEADERS = {KEY_HEADER: DESCRIPTION}
"""The request header, as the route tables declare it."""


def keyed_request(req: falcon.Request, body: BaseModel | None = None) -> Keyed | None:
    """The request's idempotency key with what makes the request itself (method, path and
    canonical body), or None without the header; 400 when the key is malformed."""
    value = req.get_header(KEY_HEADER)
    if value is None:
        return None
    key = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if not KEY_TEXT.fullmatch(key):
        raise falcon.HTTPBadRequest(title="Invalid Idempotency-Key", description=DESCRIPTION)
    content = b"" if body is None else to_json(body.model_dump(mode="json"), sort_keys=True)
    return Keyed(caller(req), key, fingerprint(req.method, req.path, content))


def tell_replayed(resp: falcon.Response, outcome: Outcome) -> None:
    """Say that the answer is the one recorded for an earlier request with the key."""
    if outcome.replayed:
        resp.set_header(REPLAYED_HEADER, "true")
