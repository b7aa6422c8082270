from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from api import request_cache

        request_cache.connect()  # web and worker processes alike: whoever changes a row says so
