"""Fixtures for dataset tests that touch Django: a private data root and a recorded queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def data_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    settings.LAYERLOOM_DATA_ROOT = root
    return root


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Dataset ids sent to the ingest task (instead of a broker)."""
    sent: list[int] = []
    monkeypatch.setattr("builder.datasets.upload.enqueue_ingest", sent.append)
    return sent


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
