"""Routes under /api/. tests/api/test_isolation.py walks these: a new route needs a case there."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.views.architectures import ArchitectureViewSet
from api.views.auth import RotateTokenView, TokenView
from api.views.catalog import LayerCatalogView, PresetListView
from api.views.common import NotFoundView
from api.views.dataset_inspect import DatasetInspectView
from api.views.datasets import DatasetViewSet
from api.views.endpoints import EndpointViewSet
from api.views.job_logs import JobLogsView
from api.views.jobs import JobViewSet
from api.views.sweeps import SweepViewSet
from api.views.usage import UsageView

app_name = "api"
PUBLIC: dict[str, list[type]] = {"authentication_classes": [], "permission_classes": [], "throttle_classes": []}

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.include_format_suffixes = False  # one URL per resource: fewer routes to secure and test
router.register("architectures", ArchitectureViewSet, basename="architecture")
router.register("datasets", DatasetViewSet, basename="dataset")
router.register("jobs", JobViewSet, basename="job")
router.register("models", EndpointViewSet, basename="model")
router.register("sweeps", SweepViewSet, basename="sweep")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/token/rotate/", RotateTokenView.as_view(), name="token-rotate"),
    path("layers/", LayerCatalogView.as_view(), name="layers"),
    path("presets/", PresetListView.as_view(), name="presets"),
    path("usage/", UsageView.as_view(), name="usage"),
    # The schema and its docs page are the same public documents for everyone: no throttle. The docs
    # page loads its start-up script as a file (?script), as the Content-Security-Policy requires.
    path("schema/", SpectacularAPIView.as_view(**PUBLIC), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema", **PUBLIC), name="docs"),
    path("jobs/logs/", JobLogsView.as_view(), name="job-logs"),  # before the router: "logs" is no job id
    path("datasets/inspect/", DatasetInspectView.as_view(), name="dataset-inspect"),  # likewise
    path("", include(router.urls)),
    re_path(r"^.*$", NotFoundView.as_view(), name="not-found"),
]
