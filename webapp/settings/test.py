"""Settings for the test suite: the same services as base, isolated per test run.

Each run gets its own folder (SQLite test database, filesystem broker, data root) and,
on Redis and PostgreSQL, its own key prefix and database name, so two runs on one
machine never see each other's messages or rows. The folder is passed to the Celery
worker processes the tests start through the environment. The test database is a file
(not SQLite's in-memory default) so that a worker process reads the same rows.
"""

from __future__ import annotations

import os
import tempfile
import uuid

os.environ.setdefault("LAYERLOOM_TEST_RUN_ID", uuid.uuid4().hex[:8])
if not os.environ.get("LAYERLOOM_VAR_DIR"):  # only the first process of a run makes the folder
    os.environ["LAYERLOOM_VAR_DIR"] = tempfile.mkdtemp(prefix="layerloom-test-")

from webapp.settings.base import *  # noqa: E402, F403
from webapp.settings.base import (  # noqa: E402
    CACHES,
    CELERY_BROKER_IS_FILESYSTEM,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    DATABASES,
    VAR_DIR,
    file_store,
)

RUN_ID = os.environ["LAYERLOOM_TEST_RUN_ID"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_layerloom_{RUN_ID}"}
if not CELERY_BROKER_IS_FILESYSTEM:
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"test-{RUN_ID}:"
# A Redis cache is shared with other runs on the machine: this run's keys carry its id.
CACHES["default"]["KEY_PREFIX"] = f"test-{RUN_ID}"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "layerloom": file_store(),
}
