"""Datasets: streaming multipart upload, list, read (profile and splits), delete."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import Conflict
from api.filters import Filter
from api.parsers import JSONParser, loads
from api.permissions import OwnedQuerysetMixin
from api.serializers import (
    DatasetDeleteQuerySerializer,
    DatasetSerializer,
    DatasetUploadSerializer,
    DemoDatasetSerializer,
    DemoInfoSerializer,
    WaitQuerySerializer,
)
from api.throttles import UploadThrottle, UserThrottle
from api.views.common import COMMON_ERRORS, LIST_ERRORS, OwnedViewMixin, error
from api.waiting import wait_until
from builder.datasets.kinds import kind_names
from builder.models import Dataset


class DatasetInUseConflict(Conflict):
    """Jobs use the dataset: code "dataset_in_use", which the dataset page answers with its
    "Delete with its jobs" button (the same request with with_jobs=true)."""

    default_code = "dataset_in_use"


NOT_FOUND = {404: error("No such dataset among yours.")}
INGESTING = (Dataset.Status.PENDING, Dataset.Status.PROCESSING)


def install_upload_handlers(request: HttpRequest) -> None:
    """Stream the upload to disk, hashing and size-checking it as it arrives.

    This must happen before anything reads request.POST or request.FILES, including
    the CSRF check of session authentication, which is why it runs in initialize_request.
    """
    from builder.datasets.upload import HashingUploadHandler

    request.upload_handlers = [HashingUploadHandler(request)]


@extend_schema_view(
    list=extend_schema(summary="List your datasets", responses={200: DatasetSerializer(many=True), **LIST_ERRORS,
                                                                **COMMON_ERRORS}),
    retrieve=extend_schema(summary="Read a dataset with its profile and splits",
                           description="With wait, the answer waits for the ingestion to end (ready or failed), "
                                       "up to that many seconds.",
                           parameters=[WaitQuerySerializer],
                           responses={200: DatasetSerializer, 400: error("wait is not a number of seconds from 0 "
                                                                         "to 30."), **NOT_FOUND, **COMMON_ERRORS}),
)  # fmt: skip
class DatasetViewSet(
    OwnedViewMixin,
    OwnedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    model = Dataset
    serializer_class = DatasetSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UserThrottle, UploadThrottle]
    filters = [
        Filter("status", "status", "choice", tuple(Dataset.Status.values)),
        Filter("kind", "kind", "choice", kind_names()),
        Filter("name", "name"),
    ]
    ordering_fields = ["name", "created", "size_bytes"]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        drf_request = super().initialize_request(request, *args, **kwargs)  # sets self.action; parses nothing yet
        if self.action == "create" and not getattr(self, "swagger_fake_view", False):
            install_upload_handlers(request)
        return drf_request

    @extend_schema(
        summary="Upload a dataset (multipart/form-data)",
        description="The file streams to disk; ingestion (profiling, splits, arrays) runs in the background. "
        "Read the dataset with ?wait=30 (or poll it) until status is ready or failed.",
        request={"multipart/form-data": DatasetUploadSerializer},
        responses={201: DatasetSerializer, 200: OpenApiResponse(DatasetSerializer, description=(
                       "The same bytes with the same kind and options were uploaded before: that dataset.")),
                   400: error("Invalid fields, each named."),
                   413: error("The file is larger than the upload limit."), **COMMON_ERRORS},
    )  # fmt: skip
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from builder.datasets.upload import create_dataset_from_upload

        data = request.data
        if len(request.FILES.getlist("file")) > 1:
            raise exceptions.ValidationError({"file": ["Send one file per upload."]})
        body = DatasetUploadSerializer(data=data)
        body.is_valid(raise_exception=True)
        options = body.validated_data.get("options") or {}
        if isinstance(options, str):  # multipart sends JSON as text
            try:
                options = loads(options)
            except exceptions.ParseError as exc:
                raise exceptions.ValidationError({"options": [f"Give the options as a JSON object. {exc.detail}"]}) from None
        if not isinstance(options, dict):
            raise exceptions.ValidationError({"options": ["Give the options as a JSON object."]})
        uploaded = body.validated_data["file"]
        dataset = create_dataset_from_upload(
            request.user,
            uploaded,
            name=body.validated_data.get("name") or uploaded.name,
            kind=body.validated_data["kind"],
            options=options,
        )
        created = not getattr(dataset, "duplicate", False)
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = WaitQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        seconds = query.validated_data["wait"]
        dataset = self.get_object()
        if dataset.status in INGESTING:
            rows = Dataset.objects.filter(pk=dataset.pk)
            if wait_until(lambda: not rows.filter(status__in=INGESTING).exists(), seconds):
                dataset = self.get_object()  # 404 if it was deleted meanwhile
        return Response(self.get_serializer(dataset).data)

    @extend_schema(
        methods=["GET"], summary="List the demo datasets", responses={200: DemoInfoSerializer(many=True),
                                                                      **COMMON_ERRORS},
    )  # fmt: skip
    @extend_schema(
        methods=["POST"],
        summary="Add a demo dataset to your datasets (one click; a second click returns the same one)",
        description="The body may also be form-encoded (the page's one-click form sends it so).",
        request={"application/json": DemoDatasetSerializer},  # one content type: see api/views/auth.py
        responses={201: DatasetSerializer, 200: DatasetSerializer, 400: error("Unknown demo."), **COMMON_ERRORS},
    )
    @action(detail=False, methods=["get", "post"], parser_classes=[JSONParser, FormParser], url_path="demo",
            pagination_class=None, filter_backends=[])  # fmt: skip
    def demo(self, request: Request) -> Response:
        from builder.demo import DEMOS, create_demo_dataset

        if request.method == "GET":
            demos = [{"key": k, "name": d.name, "kind": d.kind, "description": d.description} for k, d in DEMOS.items()]
            return Response(DemoInfoSerializer(demos, many=True).data)
        body = DemoDatasetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dataset = create_demo_dataset(request.user, body.validated_data["demo"])
        created = not getattr(dataset, "duplicate", False)
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary="Delete a dataset and its files",
        description="A dataset that jobs use is refused with 409 naming them, unless with_jobs=true: then its "
        "jobs (none may be queued or running) are deleted too, with all their files.",
        parameters=[DatasetDeleteQuerySerializer],
        responses={204: None, 400: error("Bad query."), **NOT_FOUND,
                   409: error("Jobs use this dataset (named), or one of them is queued or running."),
                   **COMMON_ERRORS},
    )  # fmt: skip
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from workers.deletion import DatasetInUse, delete_dataset
        from workers.services import JobStateError

        dataset = self.get_object()
        query = DatasetDeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            delete_dataset(dataset, with_jobs=query.validated_data["with_jobs"])
        except DatasetInUse as exc:
            raise DatasetInUseConflict(str(exc)) from None
        except JobStateError as exc:
            raise Conflict(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
