"""serving 0002: history rows made before it keep the number of the job they record."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(serving: str) -> object:
    """The database with serving at this migration and every other app at its latest."""
    executor = MigrationExecutor(connection)
    targets = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "serving"] + [("serving", serving)]
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_history_rows_get_their_job_number() -> None:
    old_apps = _migrate("0001_endpoints")
    try:
        owner = old_apps.get_model(*settings.AUTH_USER_MODEL.split(".")).objects.create(username="legacy")
        dataset = old_apps.get_model("builder", "Dataset").objects.create(
            owner=owner, name="d", kind="tabular", sha256="0" * 64, status="ready"
        )
        Job = old_apps.get_model("workers", "TrainingJob")
        jobs = [Job.objects.create(owner=owner, spec={}, dataset=dataset, dataset_version=1) for _ in range(2)]
        endpoint = old_apps.get_model("serving", "ModelEndpoint").objects.create(owner=owner, name="n", job=jobs[1])
        History = old_apps.get_model("serving", "EndpointHistory")
        for job in jobs:
            History.objects.create(endpoint=endpoint, job=job, since=job.created)

        new_apps = _migrate("0002_history_outlives_its_job")
        rows = new_apps.get_model("serving", "EndpointHistory").objects.order_by("pk")
        assert [(row.job_id, row.job_number) for row in rows] == [(job.pk, job.pk) for job in jobs]
    finally:  # back to the latest migrations for the tests that follow
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
