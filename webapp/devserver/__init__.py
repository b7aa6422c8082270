"""The development server that `make run` starts (`manage.py runserver`), answering without delay.

Django's server writes a response's headers and its body as separate sends. With Nagle's
algorithm on, the body waits for the client to acknowledge the headers, and a client on a
kept-alive connection delays that acknowledgement by up to 40 ms: every API answer and every
fetch of a page came 40-50 ms late (a 48 ms GET of a dataset against about 3 ms of work).
gunicorn, the production server, turns Nagle off on its sockets; this does the same here. It is
an app of its own so that it can stand first in INSTALLED_APPS, where its runserver wins.
"""

from __future__ import annotations

import socket
import socketserver
from typing import Any

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIServer


class NoDelay(socketserver.TCPServer):
    """Each accepted connection sends what is written at once (TCP_NODELAY)."""

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        if connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class NoDelayWSGIServer(NoDelay, WSGIServer):
    """runserver's server (it adds threads itself)."""


class NoDelayThreadedWSGIServer(NoDelay, ThreadedWSGIServer):
    """The test suite's live server."""
