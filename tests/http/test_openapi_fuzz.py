"""Property-based: schemathesis drives every operation of /openapi.json against the real app.

The app runs on a real Runtime of its own, embedded (SQLite in a temporary folder, the
in-process broker and worker) and scaled (PostgreSQL and Redis, where text with NUL once
answered 500), so generated requests submit, stop and restart real jobs. Every answer must
be below 500 and match the document: its status code, content type, headers and body.

Generation is bounded and repeatable: `derandomize` fixes hypothesis's seed, and each
operation gets EXAMPLES positive and EXAMPLES negative cases (at least 1,000 requests in all).
The event stream is the one operation that can last: this app ends streams after
STREAM_SECONDS (a documented behaviour: clients reconnect with Last-Event-ID), so a
generated request that reaches a running job answers in time. Its body is text/event-stream,
so only its status, content type and headers are checked. Schemathesis leaves out the
document's own path (GET /openapi.json, which takes no input); the test asks for it itself.
Nothing else is left out. Every request carries admin's token (the bearer scheme is not an
input to vary: tests/http/test_auth_api.py covers missing and wrong tokens), and the app
has no rate limits, so answers are the operations' own.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jobkeeper.bootstrap import Runtime
from jobkeeper.http.app import create_app
from tests.http.conftest import BACKENDS, running

# A deeper search: more examples, and JOBKEEPER_FUZZ_RANDOM=1 for fresh inputs on every run.
EXAMPLES = int(os.environ.get("JOBKEEPER_FUZZ_EXAMPLES", "20"))
REPEATABLE = not os.environ.get("JOBKEEPER_FUZZ_RANDOM")
MINIMUM_REQUESTS = 1000
STREAM_SECONDS = 0.2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
"""How invalid input may be answered: schemathesis's list, plus 413 for a body over the limit."""
CONFIG = {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}


@pytest.fixture(scope="module", params=BACKENDS)
def runtime(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    with running(tmp_path_factory.mktemp("fuzz"), request.param) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> Any:
    # No rate limits: a thousand generated requests would spend any sane budget.
    return create_app(runtime, max_body=4096, stream_seconds=STREAM_SECONDS, rate_limits=None)


def modes(operation: Any) -> list[GenerationMode]:
    """Valid inputs, and invalid ones too where the operation takes any input at all (the
    bearer token is not an input: the test sends admin's own on every request)."""
    headers = [h for h in operation.headers if "x-original-security-type" not in h.definition]
    inputs = (operation.path_parameters, operation.query, headers, operation.body)
    if any(len(part) for part in inputs):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


# On the scaled backend, the Redis broker's threads draw from `random` while hypothesis
# generates, which it takes for a strategy using `random`; generation itself does not.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_every_operation_answers_as_documented(app: Any, runtime: Runtime) -> None:
    assert runtime.admin_token is not None
    headers = {"Authorization": f"Bearer {runtime.admin_token}"}
    config = SchemathesisConfig.from_dict({**CONFIG, "headers": headers})
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)
    requests: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in modes(operation):

            @settings(
                max_examples=EXAMPLES,
                derandomize=REPEATABLE,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                response = case.call_and_validate(checks=CHECKS)
                requests[case.operation.label] += 1
                statuses[response.status_code] += 1

            call()
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
    }
    assert set(requests) == {operation.label for operation in operations}
    assert documented - set(requests) == {"GET /openapi.json"}
    own = falcon.testing.TestClient(app).simulate_get("/openapi.json")
    assert own.status_code == 200 and own.json == schema.raw_schema
    assert sum(requests.values()) >= MINIMUM_REQUESTS, requests
    # The token reached the app: real answers, not a wall of 401s.
    assert statuses[401] == 0 and statuses[200] + statuses[201] >= 100, statuses
