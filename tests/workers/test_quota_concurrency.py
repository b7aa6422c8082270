"""50 submissions at once from one user never get past the active-job limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.db import connection

from tests.workers.helpers import SPECS, make_dataset
from workers.models import TrainingJob
from workers.services import JobRejected, submit_job


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_respect_the_quota(alice, settings):
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = 4
    ds = make_dataset(alice)

    def submit(_: int) -> str:
        try:
            submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework="torch")
            return "ok"
        except JobRejected:
            return "rejected"
        finally:
            connection.close()

    with mock.patch("workers.lifecycle.app.send_task"), ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(submit, range(50)))
    assert results.count("ok") == 4 and results.count("rejected") == 46
    assert TrainingJob.objects.filter(owner=alice).count() == 4
