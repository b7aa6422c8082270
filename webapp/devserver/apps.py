from django.apps import AppConfig


class DevServerConfig(AppConfig):
    name = "webapp.devserver"
    label = "devserver"
    verbose_name = "Development server"
