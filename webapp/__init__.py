"""Layerloom's Django project: settings, URLs, the Celery app and site-wide views."""

from webapp.celery import app as celery_app

__all__ = ["celery_app"]
