"""Bodies of the legacy paths: JSON, or a form (urlencoded or multipart), as they were taken."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl

import falcon
from falcon.media.multipart import MultipartFormHandler, MultipartParseError

from jobkeeper.http.validation import (
    M,
    is_json,
    media_type_of,
    read_bounded,
    read_json,
    unsupported,
    validated,
)

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
ACCEPTED = f"application/json, {URLENCODED} or {MULTIPART}"
MAX_FIELDS = 64
MULTIPART_HANDLER = MultipartFormHandler()


def read_form(req: falcon.Request, model: type[M], max_body: int) -> M:
    """The request's body as `model`, from a JSON object or from a form's fields."""
    media_type = media_type_of(req)
    if media_type is None or is_json(media_type):
        return read_json(req, model, max_body)
    if media_type == URLENCODED:
        fields = urlencoded_fields(read_bounded(req, max_body))
    elif media_type == MULTIPART:
        fields = multipart_fields(read_bounded(req, max_body), req.content_type or "")
    else:
        raise unsupported(media_type, ACCEPTED)
    return validated(model, dict(fields), "Invalid body")


def urlencoded_fields(raw: bytes) -> dict[str, str]:
    """The fields of an application/x-www-form-urlencoded body, each given once."""
    try:
        pairs = parse_qsl(
            raw.decode(), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
        )
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise malformed(f"not a form of UTF-8 text ({error})") from None
    return once(pairs)


def multipart_fields(raw: bytes, content_type: str) -> dict[str, str]:
    """The text fields of a multipart/form-data body, each given once."""
    form = MULTIPART_HANDLER.deserialize(io.BytesIO(raw), content_type, len(raw))
    pairs = []
    try:
        for part in form:
            text = part.get_text()
            pairs.append((part.name or "", part.get_data().decode() if text is None else text))
    except (MultipartParseError, UnicodeDecodeError) as error:
        raise malformed(getattr(error, "description", None) or str(error)) from None
    return once(pairs)


def once(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """`pairs` as a dict; 400 when a field comes twice (which value would be meant?)."""
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise malformed(f"{name}: give this field once")
        fields[name] = value
    return fields


def malformed(description: str) -> falcon.HTTPError:
    """The 400 for a form that cannot be read."""
    return falcon.HTTPBadRequest(title="Malformed form", description=description)
