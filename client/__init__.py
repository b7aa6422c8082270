"""layerloom: a small command-line client (and Python helper) for the Layerloom REST API.

It needs only requests and tqdm, so it installs on a laptop without Django.
"""

from client.api import ApiError, Client

__all__ = ["ApiError", "Client"]
