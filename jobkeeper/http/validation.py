"""Reading request bodies and query strings into the models, answering 400, 413 or 415."""

from __future__ import annotations

from typing import TypeVar

import falcon
import orjson
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json",)


def read_body(req: falcon.Request, model: type[M], max_body: int) -> M:
    """The request's JSON object body, validated against `model`."""
    _check_content_type(req)
    raw = _read_bounded(req, max_body)
    if not raw.strip():
        raise falcon.HTTPBadRequest(title="Missing body", description="send a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise falcon.HTTPBadRequest(title="Malformed JSON", description=str(error)) from None
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        raise falcon.HTTPBadRequest(
            title="Invalid body", description=f"the body must be a JSON object, not {kind}"
        )
    return _validated(model, data, "Invalid body")


def read_query(req: falcon.Request, model: type[M]) -> M:
    """The request's query string, validated against `model`."""
    repeated = sorted(name for name, value in req.params.items() if isinstance(value, list))
    if repeated:
        raise falcon.HTTPBadRequest(
            title="Invalid query", description=f"{repeated[0]}: give this parameter once"
        )
    return _validated(model, dict(req.params), "Invalid query")


def describe(error: ValidationError) -> str:
    """One line per problem: the field's path, then what is wrong with it."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _validated(model: type[M], data: dict[str, object], title: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise falcon.HTTPBadRequest(title=title, description=describe(error)) from None


def _check_content_type(req: falcon.Request) -> None:
    if req.content_type is None:
        return  # JSON is the only thing this API speaks
    media_type = req.content_type.split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise falcon.HTTPUnsupportedMediaType(
            title="Unsupported media type",
            description=f"send application/json, not {media_type or 'an empty type'}",
        )


def _read_bounded(req: falcon.Request, max_body: int) -> bytes:
    """At most max_body bytes of the body; 413 when the client sends or announces more."""
    length = req.content_length
    if length is not None and length > max_body:
        raise _too_large(max_body)
    if length is None and req.env.get("wsgi.input_terminated"):
        raw: bytes = req.stream.read(max_body + 1)  # chunked body, ended by the server
    else:
        raw = req.bounded_stream.read(max_body + 1)
    if len(raw) > max_body:
        raise _too_large(max_body)
    return raw


def _too_large(max_body: int) -> falcon.HTTPError:
    return falcon.HTTPContentTooLarge(
        title="Body too large", description=f"the body must be at most {max_body} bytes"
    )
