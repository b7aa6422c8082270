"""Schemathesis over the two predict routes, against a real model: requests generated from
/api/schema/ (every content type and field the schema lists), pointed at a job and a named
endpoint that serve an ONNX model, their table cells replaced by numbers of any size (up to
1.8e308, as JSON numbers or text) and their batches stretched past the limit.

Every answer must conform to the schema, never be a 5xx, and never hold a null where a
number belongs: a value float32 cannot hold is a 400 naming its column.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import positive_data_acceptance

from serving.models import ModelEndpoint
from serving.sessions import CACHE
from tests.serving.helpers import TABLE_DOC, onnx_job
from tests.serving.test_predict_any_numbers import NUMBER, REGRESSION
from tests.support.wsgi import _keep_test_connection  # noqa: F401 - an autouse fixture
from webapp.wsgi import application

MAX_BATCH = 40
COLUMNS = [feature["name"] for feature in TABLE_DOC["features"]]

# What a model answers does not depend on the database or broker that stored the job.
pytestmark = pytest.mark.one_backend

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(
    method="POST", path=["/api/jobs/{id}/predict/", "/api/models/{name}/predict/"]
)


def cells(row: Any) -> st.SearchStrategy[Any]:
    """A generated row object gets the model's column names, each with a number of any size;
    anything else the schema made (a string, a list) is kept, to be refused by name."""
    if not isinstance(row, dict):
        return st.just(row)
    return st.fixed_dictionaries({name: NUMBER for name in COLUMNS[:2]}).map(lambda numbers: {**row, **numbers})


@schema.hook
def flatmap_body(ctx: Any, body: Any) -> st.SearchStrategy[Any]:
    """Rows as the model reads them, in batches from one to a few past the limit."""
    if isinstance(body, dict) and isinstance(body.get("rows"), list) and body["rows"]:
        rows = body["rows"]
        stretched = st.integers(1, MAX_BATCH + 5).map(lambda n: [rows[i % len(rows)] for i in range(n)])
        return stretched.flatmap(lambda batch: st.tuples(*map(cells, batch))).map(
            lambda batch: {**body, "rows": list(batch)}
        )
    if isinstance(body, dict) and isinstance(body.get("row"), dict):
        return cells(body["row"]).map(lambda row: {**body, "row": row})
    return st.just(body)


@pytest.fixture(params=[TABLE_DOC, REGRESSION], ids=["classification", "regression"])
def served(request: pytest.FixtureRequest, alice: Any, settings: Any) -> dict[str, Any]:
    """The job and the endpoint that serve the model, and Alice's token."""
    settings.LAYERLOOM_PREDICT_MAX_BATCH = MAX_BATCH
    settings.LAYERLOOM_API_THROTTLE_RATES = {key: None for key in settings.LAYERLOOM_API_THROTTLE_RATES}
    CACHE.clear()
    job = onnx_job(alice, request.param)
    endpoint = ModelEndpoint.objects.create(owner=alice, name="served", job=job)
    return {"id": job.pk, "name": endpoint.name, "token": Token.objects.create(user=alice).key}


def numbers_in(prediction: dict[str, Any]) -> list[Any]:
    if "value" in prediction:
        return [prediction["value"]]
    return [prediction.get("probability"), *prediction.get("probabilities", {}).values()]


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_predict_answers_conform_with_finite_numbers_or_a_named_400(case: Any, served: dict[str, Any]) -> None:
    # The generated id or name goes to the served job or endpoint (set here: examples are made at collection).
    case.path_parameters = {key: served[key] for key in case.path_parameters}
    # positive_data_acceptance is left out: the schema cannot say which columns a model has, so a
    # schema-valid body (a batch past the limit, a number float32 cannot hold) may rightly be a 400.
    response = case.call_and_validate(headers={"Authorization": f"Token {served['token']}"},
                                      excluded_checks=[positive_data_acceptance])  # fmt: skip
    assert response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    if case.method != "POST":  # the coverage phase also tries other methods (OPTIONS describes the route)
        return
    if response.status_code != 200:  # a 4xx in the API's one error shape (the schema check saw to that)
        assert body["message"] and body["errors"], body
        return
    assert len(body["predictions"]) == len(case.body.get("rows") or [None]), body
    for prediction in body["predictions"]:
        assert all(isinstance(n, float) and math.isfinite(n) for n in numbers_in(prediction)), prediction
