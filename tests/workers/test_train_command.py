"""`manage.py train` submits through the same checks as the API."""

from __future__ import annotations

import json
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from tests.workers.helpers import SPECS, make_dataset
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db


def test_submit_from_the_shell(alice, tmp_path):
    ds = make_dataset(alice)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPECS["tabular"]))
    out = StringIO()
    with mock.patch("workers.lifecycle.app.send_task"):
        call_command("train", "--spec", str(spec), "--dataset", str(ds.pk), "--framework", "keras",
                     "--epochs", "3", "--optimizer", "sgd", "--no-wait", stdout=out)  # fmt: skip
    job = TrainingJob.objects.get()
    assert job.hyperparameters["epochs"] == 3 and job.hyperparameters["optimizer"] == "sgd"
    assert f"job {job.pk} queued" in out.getvalue()


def test_bad_input_is_reported_per_field(alice, tmp_path):
    ds = make_dataset(alice)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPECS["images"]))
    with pytest.raises(CommandError, match="architecture: .*input shape"):
        call_command("train", "--spec", str(spec), "--dataset", str(ds.pk), "--framework", "torch", "--no-wait")
    assert not TrainingJob.objects.exists()
