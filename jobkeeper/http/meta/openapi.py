"""The OpenAPI 3.1 document, built from the route table and the models that read and answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter

from jobkeeper.http.legacy.forms import MULTIPART, URLENCODED
from jobkeeper.http.routing import API_V1, GUARD_REPLIES, JSON, Operation, Reply, Route

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"
INFO = {
    "title": "jobkeeper",
    "version": "1",
    "description": "Runs long jobs and keeps their whole story. The v1 API lives under "
    f"{API_V1}; the legacy paths (those of the older service jobkeeper replaces) under /api/ "
    "still answer, and are deprecated. "
    "A trailing slash is optional on every path.\n\n"
    "Every operation but the health check, this document and the docs page needs "
    "`Authorization: Bearer <token>` (401 without a valid one): the first start prints admin's "
    "token and keeps it in `admin-token` in the data folder; "
    f"`POST {API_V1}/users/{{name}}/tokens` issues more. Only a job's owner or an admin may "
    "command it, only an admin creates users (403 otherwise). Each user has a budget of "
    "commands and one of reads (per client address without a valid token); over it, 429 with "
    "`Retry-After`.",
}
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "a token like jk_<user>_<id>_<secret>, shown once when issued",
    }
}


def document(routes: Iterable[Route]) -> dict[str, Any]:
    """The OpenAPI document of `routes`."""
    components: dict[str, Schema] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        item = paths.setdefault(route.path, {})
        for operation in route.operations:
            item[operation.method.lower()] = _operation(route, operation, components)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _operation(route: Route, operation: Operation, components: dict[str, Schema]) -> Schema:
    replies = dict(operation.replies) if route.public else {**operation.replies, **GUARD_REPLIES}
    out: Schema = {
        "operationId": _operation_id(operation.method, route.path),
        "summary": operation.summary,
        "tags": [route.tag],
        "parameters": [
            *(_path_parameter(route, name) for name in route.parameters),
            *_query_parameters(operation.query, components),
            *(_header_parameter(name, text) for name, text in operation.headers.items()),
        ],
        "responses": {
            str(status): _response(reply, components) for status, reply in sorted(replies.items())
        },
    }
    if not route.public:
        out["security"] = [{"bearer": []}]
    description = operation.description
    if operation.writes:
        description = f"{description} It changes the job, so it spends the command budget."
    if operation.replaced_by:
        out["deprecated"] = True
        replaced_by = operation.replaced_by
        description = f"Deprecated: a legacy path; use `{replaced_by}`. {description}"
    if description:
        out["description"] = description.strip()
    if operation.body is not None:
        schema = _schema(operation.body, components, "validation")
        media = (JSON, URLENCODED, MULTIPART) if operation.forms else (JSON,)
        content = {m: {"schema": schema} for m in media}
        out["requestBody"] = {"required": operation.body_required, "content": content}
    return out


def _operation_id(method: str, path: str) -> str:
    words = path.replace("{", "").replace("}", "").replace(".", "_").strip("/").split("/")
    return "_".join([method.lower(), *words]).replace("-", "_")


def _path_parameter(route: Route, name: str) -> Schema:
    parameter = route.parameter(name)
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": parameter.description,
        "schema": dict(parameter.schema),
    }


def _query_parameters(model: type[BaseModel] | None, components: dict[str, Schema]) -> list[Schema]:
    if model is None:
        return []
    schema = _hoisted(model.model_json_schema(ref_template=REF), components)
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema.get("properties", {}).items():
        field = _without_null(field)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": field}
        if "description" in field:
            parameter["description"] = field["description"]
        parameters.append(parameter)
    return parameters


def _without_null(field: Schema) -> Schema:
    """A query parameter is absent or a value: its schema's `null` branch cannot be sent."""
    branches = [b for b in field.get("anyOf", ()) if b.get("type") != "null"]
    if len(branches) != 1:
        return field
    rest = {k: v for k, v in field.items() if k not in ("anyOf", "default")}
    return {**branches[0], **rest}


def _header_parameter(name: str, description: str) -> Schema:
    return {"name": name, "in": "header", "required": False, "description": description,
            "schema": {"type": "string"}}  # fmt: skip


def _response(reply: Reply, components: dict[str, Schema]) -> Schema:
    out: Schema = {"description": reply.description}
    if reply.headers:
        out["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in reply.headers.items()
        }
    if reply.body is not None:
        schema = _schema(reply.body, components, "serialization")
        out["content"] = {media: {"schema": schema} for media in reply.media}
    elif reply.media:
        out["content"] = {media: {} for media in reply.media}
    return out


def _schema(kind: Any, components: dict[str, Schema], mode: str) -> Schema:
    """The schema of a model (a reference to its component) or of any other type (inline)."""
    schema = _hoisted(TypeAdapter(kind).json_schema(ref_template=REF, mode=mode), components)  # type: ignore[arg-type]
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        _add(components, kind.__name__, schema)
        return {"$ref": REF.format(model=kind.__name__)}
    return schema


def _hoisted(schema: Schema, components: dict[str, Schema]) -> Schema:
    """`schema` with its `$defs` moved into the document's components."""
    for name, definition in schema.pop("$defs", {}).items():
        _add(components, name, definition)
    return schema


def _add(components: dict[str, Schema], name: str, schema: Mapping[str, Any]) -> None:
    if components.setdefault(name, dict(schema)) != schema:
        raise ValueError(f"two different schemas are named {name!r}")
