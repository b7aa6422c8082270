"""Each test starts with no model loaded and no request cached (ids repeat between tests' databases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api import request_cache
from serving.sessions import CACHE
from tests.api.conftest import alice_api, bob_api  # noqa: F401 - token clients for alice and bob


@pytest.fixture(autouse=True)
def _no_loaded_models() -> Iterator[None]:
    CACHE.clear()
    request_cache.clear()
    yield
    CACHE.clear()
    request_cache.clear()
