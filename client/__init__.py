"""layerloom: a small command-line client (and Python helper) for the Layerloom REST API.

It needs only requests and tqdm, so it installs on a laptop without Django.
"""

from __future__ import annotations

from typing import Any

# The one place the version is written: pyproject.toml reads it from here, `layerloom --version` prints it,
# and the trainers report it (workers/placement.py) without loading the client's HTTP modules.
__version__ = "0.1.0"

__all__ = ["ApiError", "Client", "__version__"]


def __getattr__(name: str) -> Any:
    """Client and ApiError load requests on first use, so reading the version needs nothing more."""
    if name in ("ApiError", "Client"):
        from client import api

        return getattr(api, name)
    raise AttributeError(f"module 'client' has no attribute {name!r}")
