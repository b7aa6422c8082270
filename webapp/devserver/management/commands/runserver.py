"""runserver as WhiteNoise wraps it (static files from WhiteNoise), on a server that answers without delay."""

from __future__ import annotations

from whitenoise.runserver_nostatic.management.commands.runserver import Command as WhiteNoiseRunserver

from webapp.devserver import NoDelayWSGIServer


class Command(WhiteNoiseRunserver):
    server_cls = NoDelayWSGIServer
