"""Property-based conformance: requests generated from /api/schema/, sent with a token.

No response may be a 5xx, and every response (status, content type, body, headers) must
match what the schema says. Examples per operation are few so the run stays near a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import positive_data_acceptance

from builder.models import Architecture
from tests.api.conftest import add_artifact, make_job
from tests.support.wsgi import _keep_test_connection  # noqa: F401 - an autouse fixture
from webapp.wsgi import application

MAX_EXAMPLES = 20


# Loaded once at collection, from the application itself (no server, no network).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def token(alice: Any, alice_dataset: Any, mlp_spec: dict[str, Any], settings: Any) -> str:
    """Alice's token, with some of her objects for generated ids to hit now and then (ids 1, 2, ...)."""
    settings.LAYERLOOM_API_THROTTLE_RATES = {key: None for key in settings.LAYERLOOM_API_THROTTLE_RATES}
    settings.LAYERLOOM_TRAINING_QUEUE = "api-tests-unconsumed"  # no worker reads it: jobs and estimates stay queued
    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=mlp_spec)
    job = make_job(alice, alice_dataset, architecture, status="succeeded")
    add_artifact(job)
    return Token.objects.create(user=alice).key


@schema.parametrize()
# derandomize: the same examples on every run, so CI is reproducible.
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: Any, token: str) -> None:
    # positive_data_acceptance is left out: a schema cannot say which specs or ids exist, so a
    # schema-valid request may rightly get a 400 or 404; it must still be documented and well-formed.
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=[positive_data_acceptance])


# Negative mode only, on every operation that takes a body: wrong types, missing and extra
# fields, values outside the schema. No 5xx, and every 4xx in the API's one error shape.
# Left out: token rotation takes no body (nothing to make malformed), and a named endpoint's
# predict, whose generated `name` can carry path segments that leave /api/ and reach the site's
# own HTML 404 page; tests/api/test_malformed_bodies.py sends that route every malformed body.
negative_schema = (
    schemathesis.openapi.from_wsgi("/api/schema/", application)
    .include(method=["POST", "PUT", "PATCH"])
    .exclude(path=["/api/auth/token/rotate/", "/api/models/{name}/predict/"])
)
negative_schema.config.generation.update(modes=["negative"])
# Documented beside the error shape: validation's 400 also carries the shapes of the layers it could check.
EXTRA_ERROR_KEYS = {"/api/architectures/validate/": {"report"}}


@negative_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_malformed_bodies_get_a_4xx_in_the_error_shape(case: Any, token: str) -> None:
    response = case.call(headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    if response.status_code >= 400:
        assert response.content.strip().startswith(b"{"), (case.method, case.formatted_path, response.status_code,
                                                             response.content[:300])  # fmt: skip
        body = response.json()
        assert set(body) - EXTRA_ERROR_KEYS.get(case.path, set()) == {"status", "code", "message", "errors"}
        assert body["status"] == response.status_code
