"""For tests that call the WSGI application in-process (schemathesis's from_wsgi)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import signals
from django.db import close_old_connections


@pytest.fixture(autouse=True)
def _keep_test_connection(db: None) -> Iterator[None]:
    """Like Django's test client: a request must not close the connection holding the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
