"""/openapi.json describes exactly the routes the app serves, from the models that serve them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import falcon.inspect
import pytest

from jobkeeper.http.legacy.models import LegacyJobCreation
from jobkeeper.http.meta.docs import ASSETS, PAGE, assets_folder
from jobkeeper.http.ui.routes import UI_ROUTES
from jobkeeper.http.v1.models import JobSubmission, UserCreation
from tests.http.conftest import PUBLIC_ROUTES

if TYPE_CHECKING:
    from tests.http.conftest import Api

CONVERTER = re.compile(r"{(\w+):[^}]*}")


@pytest.fixture(scope="module")
def document(api: Api) -> dict[str, Any]:
    result = api.client.simulate_get("/openapi.json")
    assert result.status_code == 200
    doc: dict[str, Any] = result.json
    return doc


def served(app: Any) -> set[tuple[str, str]]:
    """Every (path, method) the Falcon app answers with a responder of ours, but the web app's
    pages (HTML for browsers, not API operations)."""
    pages = {page.template for page in UI_ROUTES}
    return {
        (CONVERTER.sub(r"{\1}", route.path), method.method)
        for route in falcon.inspect.inspect_routes(app)
        for method in route.methods
        if not method.internal and route.path not in pages
    }


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in document["paths"].items() for method in item}


def test_every_served_route_is_documented_and_every_documented_route_is_served(
    api: Api, document: dict[str, Any]
) -> None:
    assert document["openapi"] == "3.1.0"
    assert served(api.client.app) == documented(document)


def test_legacy_operations_are_deprecated_in_favour_of_their_v1_equivalent(
    document: dict[str, Any],
) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path.startswith("/api/") and not path.startswith("/api/v1/"):
                assert operation["deprecated"] is True, (method, path)
                assert (
                    "use `" in operation["description"] and "/api/v1/" in operation["description"]
                )
            else:
                assert "deprecated" not in operation, (method, path)


def test_request_bodies_are_the_schemas_of_the_models_that_read_them(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    for path, model in [
        ("/api/v1/jobs", JobSubmission),
        ("/api/v1/users", UserCreation),
        ("/api/createjob", LegacyJobCreation),
    ]:
        content = document["paths"][path]["post"]["requestBody"]["content"]
        ref = content["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{model.__name__}"
        expected = model.model_json_schema(ref_template="#/components/schemas/{model}")
        expected.pop("$defs", None)
        assert schemas[model.__name__] == expected
    legacy_media = set(document["paths"]["/api/createjob"]["post"]["requestBody"]["content"])
    assert legacy_media == {
        "application/json", "application/x-www-form-urlencoded", "multipart/form-data"
    }  # fmt: skip


def test_every_operation_documents_its_answers_and_every_reference_resolves(
    document: dict[str, Any],
) -> None:
    text = str(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in document["components"]["schemas"], name
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for item in document["paths"].values():
        for operation in item.values():
            assert any(code.startswith("2") for code in operation["responses"])


def test_public_routes_are_documented(document: dict[str, Any]) -> None:
    assert set(document["paths"]) >= PUBLIC_ROUTES


def test_the_docs_page_names_only_local_urls(api: Api) -> None:
    result = api.client.simulate_get("/docs/")
    assert result.status_code == 200 and result.headers["Content-Type"].startswith("text/html")
    assert result.text == PAGE
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*["']([^"']+)["']""", result.text)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "http:" not in result.text and "https:" not in result.text
    assert "validatorUrl: null" in result.text  # no badge fetched from the internet
    for url in urls:
        assert api.client.simulate_get(url).status_code == 200, url


def test_the_docs_assets_ship_with_the_installed_packages(api: Api) -> None:
    for name, media_type in ASSETS.items():
        assert (assets_folder() / name).is_file()
        result = api.client.simulate_get(f"/docs/assets/{name}")
        assert result.status_code == 200 and result.headers["Content-Type"] == media_type
        assert result.content == (assets_folder() / name).read_bytes()
    assert api.client.simulate_get("/docs/assets/..%2Fcore.py").status_code == 404
    assert api.client.simulate_get("/docs/assets/index.html").status_code == 404
    bundle = (assets_folder() / "swagger-ui-bundle.js").read_text()
    assert "3.1" in bundle  # Swagger UI 5 renders OpenAPI 3.1 documents


def test_every_protected_operation_documents_its_token_and_its_budget(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "security" not in document  # each operation says whether it needs the token
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path in PUBLIC_ROUTES:
                assert "security" not in operation, (method, path)
                assert not {"401", "429"} & set(operation["responses"]), (method, path)
                continue
            assert operation["security"] == [{"bearer": []}], (method, path)
            unauthorized, too_many = operation["responses"]["401"], operation["responses"]["429"]
            assert "WWW-Authenticate" in unauthorized["headers"], (method, path)
            assert {
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            } <= set(too_many["headers"]), (method, path)


def test_operations_that_may_be_refused_document_403(document: dict[str, Any]) -> None:
    paths = document["paths"]
    refusable = [
        *((f"/api/v1/jobs/{{job_id}}/{c}", "post") for c in ("stop", "resume", "cancel", "restart")),
        *((f"/api/{c}/{{job_id}}", "get") for c in ("canceljob", "stopjob", "resumejob", "restartjob", "restart")),
        ("/api/getdetailedjob/{job_id}", "put"), ("/api/v1/jobs", "post"), ("/api/v1/users", "post"),
        ("/api/createjob", "post"), ("/api/userlist", "post"),
        ("/api/v1/users/{name}/tokens", "get"), ("/api/v1/users/{name}/tokens", "post"),
        ("/api/v1/users/{name}/tokens/{token_id}", "get"),
        ("/api/v1/users/{name}/tokens/{token_id}", "delete"),
    ]  # fmt: skip
    for path, method in refusable:
        assert "403" in paths[path][method]["responses"], (method, path)


def test_creating_a_user_documents_their_first_token(document: dict[str, Any]) -> None:
    created = document["paths"]["/api/v1/users"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"]
    model = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "token" in model["required"]
    revoke = document["paths"]["/api/v1/users/{name}/tokens/{token_id}"]["delete"]
    assert "content" not in revoke["responses"]["204"]


def test_the_history_page_documents_400_for_bad_query_values(document: dict[str, Any]) -> None:
    answers = document["paths"]["/api/v1/jobs/{job_id}/history"]["get"]["responses"]
    assert "400" in answers and "422" not in answers
