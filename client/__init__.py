"""layerloom: a small command-line client (and Python helper) for the Layerloom REST API.

It needs only requests and tqdm, so it installs on a laptop without Django.
"""

from client.api import ApiError, Client

# The one place the version is written: pyproject.toml reads it from here, `layerloom --version` prints it.
__version__ = "0.1.0"

__all__ = ["ApiError", "Client", "__version__"]
