"""Generated predict bodies with any numbers: huge, tiny, negative, as JSON numbers or as text,
missing, in batches of any length up to the limit and past it. Every answer is a 200 whose
probabilities or values are all finite numbers, or a 4xx naming the field; never a 5xx, and
never a null where a number belongs (a value float32 cannot hold once answered null)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.sessions import CACHE
from tests.api.conftest import token_client
from tests.serving.helpers import TABLE_DOC, onnx_job

pytestmark = pytest.mark.django_db

REGRESSION = {**TABLE_DOC, "task": "regression", "target_column": "price", "class_names": []}
NUMBER = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),  # up to 1.8e308 either way
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),  # the same, as the text of a CSV cell
    st.sampled_from(["", None, "1e39", "-1e39", "1e-320"]),
)
ROW = st.fixed_dictionaries({"length": NUMBER, "width": NUMBER, "colour": st.sampled_from(["red", "blue", "", None])})


@pytest.fixture(params=[TABLE_DOC, REGRESSION], ids=["classification", "regression"])
def served(request: pytest.FixtureRequest, alice: Any, settings: Any) -> tuple[Any, Any]:
    settings.LAYERLOOM_PREDICT_MAX_BATCH = 40
    settings.LAYERLOOM_API_THROTTLE_RATES = {key: None for key in settings.LAYERLOOM_API_THROTTLE_RATES}
    CACHE.clear()
    return onnx_job(alice, request.param), token_client(alice)


def test_any_numbers_get_finite_answers_or_a_named_400(served: tuple[Any, Any]) -> None:
    job, api = served

    @given(rows=st.lists(ROW, min_size=1, max_size=45))
    @settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def check(rows: list[dict[str, Any]]) -> None:
        response = api.post(f"/api/jobs/{job.pk}/predict/", {"rows": rows}, format="json")
        assert response.status_code in (200, 400), (response.status_code, rows)
        body = response.json()
        if response.status_code == 400:
            assert body["errors"] and all(e["field"] and e["message"] for e in body["errors"]), body
            if len(rows) > 40:
                assert body["errors"][0]["field"] == "rows"
            return
        assert len(body["predictions"]) == len(rows)
        for prediction in body["predictions"]:
            numbers = [prediction["value"]] if "value" in prediction else list(prediction["probabilities"].values())
            assert all(isinstance(n, float) and math.isfinite(n) for n in numbers), (prediction, rows)

    check()
