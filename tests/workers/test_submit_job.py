"""submit_job: every check, with per-field messages, and nothing half-made on rejection."""

from __future__ import annotations

from unittest import mock

import pytest

from tests.workers.helpers import SPECS, make_dataset
from workers.models import TrainingJob
from workers.services import JobRejected, submit_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("workers.lifecycle.app.send_task") as send:
        yield send


def rejected(**kwargs) -> dict[str, list[str]]:
    with pytest.raises(JobRejected) as info:
        submit_job(**kwargs)
    assert TrainingJob.objects.count() == 0
    return info.value.field_errors


def test_a_good_submission_freezes_the_spec_and_fills_defaults(alice, no_broker, django_capture_on_commit_callbacks):
    ds = make_dataset(alice)
    with django_capture_on_commit_callbacks(execute=True):
        job = submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework="torch", hyperparameters={"epochs": 3})
    assert job.status == TrainingJob.Status.QUEUED and job.queue == "training"
    assert job.spec == SPECS["tabular"] and job.dataset_version == ds.version
    assert job.hyperparameters["optimizer"] == "adam" and job.hyperparameters["epochs"] == 3
    no_broker.assert_called_once_with("workers.train_job", args=[job.pk], queue="training")
    job.refresh_from_db()
    assert job.dispatched_at is not None  # its owner's first: sent at once


def test_an_architecture_row_is_copied_not_referenced(alice):
    from builder.models import Architecture

    arch = Architecture.objects.create(owner=alice, name="mlp", spec=SPECS["tabular"])
    job = submit_job(alice, architecture=arch, dataset=make_dataset(alice), framework="keras")
    arch.spec = SPECS["regression"]
    arch.save()
    job.refresh_from_db()
    assert job.spec == SPECS["tabular"] and job.architecture_id == arch.pk


def test_bad_hyperparameters_get_a_message_per_field(alice):
    errors = rejected(
        owner=alice, spec=SPECS["tabular"], dataset=make_dataset(alice), framework="torch",
        hyperparameters={"optimizer": "adagrad", "learning_rate": -1, "batch_size": 0, "colour": "red"},
    )  # fmt: skip
    assert set(errors) == {"optimizer", "learning_rate", "batch_size", "colour"}
    assert "sgd" in errors["optimizer"][0]


def test_wrong_framework_and_shape_mismatch(alice):
    errors = rejected(owner=alice, spec=SPECS["images"], dataset=make_dataset(alice), framework="jax")
    assert "framework" in errors
    assert "input shape" in " ".join(errors["architecture"])


def test_output_must_fit_the_classes(alice):
    errors = rejected(owner=alice, spec=SPECS["regression"], dataset=make_dataset(alice), framework="torch")
    assert "3 classes" in errors["architecture"][0]


def test_loss_must_fit_the_task(alice):
    errors = rejected(
        owner=alice, spec=SPECS["regression"], dataset=make_dataset(alice, "regression"), framework="torch",
        hyperparameters={"loss": "sparse_categorical_crossentropy"},
    )  # fmt: skip
    assert "regression" in errors["loss"][0]


def test_a_dataset_that_is_not_ready_is_refused(alice):
    ds = make_dataset(alice)
    ds.status = ds.Status.PROCESSING
    ds.save()
    errors = rejected(owner=alice, spec=SPECS["tabular"], dataset=ds, framework="torch")
    assert "not ready" in errors["dataset"][0]


def test_exactly_one_of_architecture_or_spec(alice):
    errors = rejected(owner=alice, dataset=make_dataset(alice), framework="torch")
    assert "architecture" in errors


def test_the_quota_counts_queued_and_running_jobs(alice, bob, settings):
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = 2
    ds = make_dataset(alice)
    first = submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework="torch")
    submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework="torch")
    with pytest.raises(JobRejected) as info:
        submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework="torch")
    assert "limit is 2" in info.value.field_errors["quota"][0]
    # Other users are not affected, and a finished job frees a place.
    submit_job(bob, spec=SPECS["tabular"], dataset=make_dataset(bob), framework="torch")
    TrainingJob.objects.filter(pk=first.pk).update(status=TrainingJob.Status.SUCCEEDED)
    submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework="torch")
