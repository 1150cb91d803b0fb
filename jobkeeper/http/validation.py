"""Reading request bodies and query strings into the models, answering 400, 413 or 415."""

from __future__ import annotations

from collections.abc import Callable, Collection
from types import UnionType
from typing import TypeVar, Union, get_args, get_origin

import falcon
from pydantic import BaseModel, ValidationError

from jobkeeper.http.media import from_json

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json",)
ErrorClass = Callable[..., falcon.HTTPError]


def read_body(req: falcon.Request, model: type[M], max_body: int, optional: bool = False) -> M:
    """The request's JSON object body, validated against `model`; with `optional`, no body at
    all stands for `{}`."""
    media_type = media_type_of(req)
    if media_type is not None and not is_json(media_type):
        raise unsupported(media_type, "application/json")
    return read_json(req, model, max_body, optional)


def read_json(req: falcon.Request, model: type[M], max_body: int, optional: bool = False) -> M:
    """The request's body, read as a JSON object whatever its content type says."""
    raw = read_bounded(req, max_body)
    if not raw.strip():
        if optional:
            return validated(model, {}, "Invalid body")
        raise falcon.HTTPBadRequest(title="Missing body", description="send a JSON object")
    try:
        data = from_json(raw)
    except ValueError as error:  # orjson's errors, and an integer beyond 64 bits
        raise falcon.HTTPBadRequest(title="Malformed JSON", description=str(error)) from None
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        raise falcon.HTTPBadRequest(
            title="Invalid body", description=f"the body must be a JSON object, not {kind}"
        )
    return validated(model, data, "Invalid body")


def read_query(
    req: falcon.Request,
    model: type[M],
    *,
    repeatable: Collection[str] | None = None,
    error: ErrorClass = falcon.HTTPBadRequest,
) -> M:
    """The request's query string, validated against `model`; the parameters `repeatable`
    (by default, the model's list fields) may be given several times (they are read as
    lists), as may the model's list fields, the others once. `error` is the answer to a query
    that does not validate (400 unless the operation says otherwise)."""
    lists = list_fields(model) | frozenset(repeatable or ())
    repeated = sorted(
        name for name, value in req.params.items() if isinstance(value, list) and name not in lists
    )
    if repeated:
        raise error(title="Invalid query", description=f"{repeated[0]}: give this parameter once")
    data: dict[str, object] = dict(req.params)
    for name in lists:
        if isinstance(data.get(name), str):
            data[name] = [data[name]]
    return validated(model, data, "Invalid query", error)


def list_fields(model: type[BaseModel]) -> frozenset[str]:
    """The query parameters of `model` that may be given several times (its list fields)."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if get_origin(field.annotation) in (list, UnionType, Union)
        and any(get_origin(arg) is list for arg in (field.annotation, *get_args(field.annotation)))
    )


def describe(error: ValidationError) -> str:
    """One line per problem: the field's path, then what is wrong with it."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def validated(
    model: type[M],
    data: dict[str, object],
    title: str,
    error: ErrorClass = falcon.HTTPBadRequest,
) -> M:
    """`data` as a `model`; 400 (or `error`) with `title` and one line per problem when it is
    not one, or when any of its text holds a NUL character (no store keeps one: PostgreSQL
    refuses it)."""
    try:
        value = model.model_validate(data)
    except ValidationError as problem:
        raise error(title=title, description=describe(problem)) from None
    for field, content in value.model_dump().items():
        if _holds_nul(content):
            raise error(
                title=title, description=f"{field}: must not contain NUL (\\u0000) characters"
            )
    return value


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def media_type_of(req: falcon.Request) -> str | None:
    """The request's media type, lower case and without parameters; None when it sends none."""
    if req.content_type is None:
        return None
    return req.content_type.split(";", 1)[0].strip().lower()


def is_json(media_type: str) -> bool:
    """Whether `media_type` is JSON (application/json or any +json type)."""
    return media_type in JSON_TYPES or media_type.endswith("+json")


def unsupported(media_type: str, accepted: str) -> falcon.HTTPError:
    """The 415 for a body of `media_type`, naming what to send instead."""
    return falcon.HTTPUnsupportedMediaType(
        title="Unsupported media type",
        description=f"send {accepted}, not {media_type or 'an empty type'}",
    )


def read_bounded(req: falcon.Request, max_body: int) -> bytes:
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
