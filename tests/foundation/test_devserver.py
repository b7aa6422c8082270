"""`manage.py runserver` (what `make run` starts) sends each answer as it is written: its sockets
have Nagle's algorithm off, so a kept-alive client does not wait 40 ms for every answer's body."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest
from django.core.management import get_commands, load_command_class
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

from webapp.devserver import NoDelayWSGIServer

pytestmark = pytest.mark.one_backend


def test_runserver_is_the_one_without_delay_and_whitenoise_still_serves_static_files() -> None:
    app = get_commands()["runserver"]
    command = load_command_class(app, "runserver")
    assert app == "webapp.devserver" and command.server_cls is NoDelayWSGIServer
    parser = command.create_parser("manage.py", "runserver")
    assert parser.get_default("use_static_handler") is False  # WhiteNoise's wrapper is still in the chain


def accepted_nodelay(server_cls: Callable[..., WSGIServer]) -> int:
    """TCP_NODELAY on the server's side of one accepted connection."""
    server = server_cls(("127.0.0.1", 0), WSGIRequestHandler)
    try:
        accepted: list[socket.socket] = []
        taking = threading.Thread(target=lambda: accepted.append(server.get_request()[0]))
        taking.start()
        with socket.create_connection(server.server_address[:2], timeout=10):
            taking.join(timeout=10)
            try:
                return accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            finally:
                accepted[0].close()
    finally:
        server.server_close()


def test_its_connections_send_without_delay_and_djangos_own_do_not() -> None:
    assert accepted_nodelay(NoDelayWSGIServer) != 0
    assert accepted_nodelay(WSGIServer) == 0
