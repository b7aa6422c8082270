"""Fixtures for training tests: a private training queue for tests that start their own workers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture
def private_queue(settings: Any) -> str:
    """Jobs submitted in this test go to a queue only this test's workers read.

    The session-wide worker also reads the "training" queue; a private queue keeps
    crash and concurrency tests in control of exactly which worker takes which job.
    """
    name = f"training-{uuid.uuid4().hex[:8]}"
    settings.LAYERLOOM_TRAINING_QUEUE = name
    return name
