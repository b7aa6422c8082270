"""mixed_precision: float16 compute on a GPU, ignored on a CPU. Either way a job with it trains,
evaluates and exports a model whose answers are finite; scripts/gpu_check.sh runs this on CUDA,
where it is the float16 path (Keras's mixed_float16 policy, torch's autocast with a gradient scaler)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.workers.helpers import SPECS, hp, make_dataset, ran_on_the_test_device, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_mixed_precision_job_trains_and_exports(celery_worker: Any, alice: Any, framework: str) -> None:
    dataset = make_dataset(alice, "images", n=48)
    job = submit_job(alice, spec=SPECS["images"], dataset=dataset, framework=framework,
                     hyperparameters=hp(epochs=2, batch_size=8, mixed_precision=True))  # fmt: skip
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert ran_on_the_test_device(job), job.device_name
    losses = [m.values["loss"] for m in job.metrics.all()]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses), losses
    assert math.isfinite(job.evaluation["loss"]) and 0.0 <= job.evaluation["accuracy"] <= 1.0
    assert {"onnx", "code_bundle"} <= set(job.artifacts.values_list("kind", flat=True))
