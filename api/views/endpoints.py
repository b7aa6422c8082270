"""Named model endpoints: publish a job under a name, re-point it, read its history, predict.

Names are per user: another user's name is a 404, exactly like a name that does not exist.
Publishing and re-pointing are serving.endpoints.publish (one transaction each).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api import request_cache
from api.errors import Conflict
from api.permissions import OwnedQuerysetMixin
from api.serializers import EndpointCreateSerializer, EndpointSerializer
from api.views.common import COMMON_ERRORS, LIST_ERRORS, OwnedViewMixin, error
from api.views.predict import PARSERS, predict_response, predict_schema
from builder.datasets.kinds import get_kind
from serving import endpoints
from serving.models import NAME_PATTERN, ModelEndpoint
from serving.predict import NotServable, predict
from serving.sessions import PREDICT_FIELDS, onnx_annotations, servable
from workers.models import TrainingJob

NOT_FOUND = {404: error("No model endpoint of yours has this name.")}


@extend_schema_view(
    list=extend_schema(summary="List your named model endpoints",
                       responses={200: EndpointSerializer(many=True), **LIST_ERRORS, **COMMON_ERRORS}),
    retrieve=extend_schema(summary="Read a named endpoint: the job serving now and every job that served before",
                           responses={200: EndpointSerializer, **NOT_FOUND, **COMMON_ERRORS}),
    destroy=extend_schema(summary="Remove a name (the jobs stay)", responses={204: None, **NOT_FOUND,
                                                                              **COMMON_ERRORS}),
)  # fmt: skip
class EndpointViewSet(
    OwnedViewMixin,
    OwnedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    model = ModelEndpoint
    serializer_class = EndpointSerializer
    lookup_field = "name"
    lookup_value_regex = NAME_PATTERN.strip("^$")
    ordering_fields = ["name", "updated"]

    def get_queryset(self) -> Any:
        if self.action == "predict":  # the name, its job's state and the job's model file in one query
            fields = ("name", "owner", *(f"job__{name}" for name in PREDICT_FIELDS))
            return super().get_queryset().select_related("job").only(*fields).annotate(**onnx_annotations("job_id"))
        return super().get_queryset().prefetch_related("history")

    @extend_schema(
        summary="Publish a job under a name, or re-point the name to another job",
        description="The name starts answering with `job` at once; the job it served before (if any) is kept "
        "in the history with when it stopped. Re-pointing is one transaction: every call sees one job.",
        request=EndpointCreateSerializer,
        responses={201: EndpointSerializer, 200: EndpointSerializer, 400: error("Invalid name or job, or a new name past your limit of names."),
                   404: error("No such job among yours."), 409: error("The job has not succeeded."),
                   **COMMON_ERRORS},
    )  # fmt: skip
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = EndpointCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = TrainingJob.objects.filter(owner=request.user, pk=body.validated_data["job"]).first()
        if job is None:
            exc = exceptions.NotFound(f"No job with id {body.validated_data['job']} among yours.")
            exc.field = "job"  # type: ignore[attr-defined]
            raise exc
        try:
            endpoint, created = endpoints.publish(request.user, body.validated_data["name"], job)
        except NotServable as exc:
            raise Conflict(str(exc)) from None
        except endpoints.TooManyNames as exc:
            raise exceptions.ValidationError({"name": [str(exc)]}) from None
        endpoint = self.get_queryset().get(pk=endpoint.pk)
        return Response(EndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED if created else 200)

    def _endpoint(self) -> ModelEndpoint:
        endpoint = self.get_object()
        endpoint.job.onnx_id, endpoint.job.onnx_sha256 = endpoint.onnx_id, endpoint.onnx_sha256
        return endpoint

    def perform_destroy(self, instance: ModelEndpoint) -> None:
        endpoints.unpublish(instance)

    @predict_schema("Predict with the job a name points at", "No model endpoint of yours has this name.")
    @action(detail=True, methods=["post"], parser_classes=PARSERS)
    def predict(self, request: Request, name: str | None = None) -> Response:
        endpoint = request_cache.owned_row(request, "endpoint", str(name), self._endpoint, lambda e: servable(e.job))
        self.check_object_permissions(request, endpoint)
        job = request_cache.clone(endpoint.job)
        return predict_response(
            request, lambda data, files: predict(job, data, files, endpoint.name), lambda: get_kind(job.dataset.kind)
        )
