"""Architectures: CRUD, validation report and generated source."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import InvalidRequest, spec_error_entries
from api.filters import Filter
from api.permissions import OwnedQuerysetMixin
from api.serializers import (
    ArchitectureSerializer,
    BatchSizeSerializer,
    CodegenQuerySerializer,
    CodegenSerializer,
    SpecReportSerializer,
    ValidateRequestSerializer,
    spec_limits,
)
from api.views.common import COMMON_ERRORS, LIST_ERRORS, OwnedViewMixin, check_valid, error
from builder.models import Architecture
from builder.spec import validate_spec

NOT_FOUND = {404: error("No such architecture among yours.")}
INVALID = {400: error("Invalid fields; spec errors name the layer_id and param.")}


def _report(spec: Any, batch_size: int) -> Response:
    report = validate_spec(spec, limits=spec_limits(), batch_size=batch_size)
    if not report.ok:
        raise InvalidRequest(spec_error_entries([e.to_dict() for e in report.errors]))
    return Response(report.to_dict())


@extend_schema_view(
    list=extend_schema(summary="List your architectures", responses={200: ArchitectureSerializer(many=True), **LIST_ERRORS,
                                                                      **COMMON_ERRORS}),
    retrieve=extend_schema(summary="Read an architecture", responses={200: ArchitectureSerializer, **NOT_FOUND,
                                                                       **COMMON_ERRORS}),
    create=extend_schema(summary="Create an architecture from a spec",
                         responses={201: ArchitectureSerializer, **INVALID, **COMMON_ERRORS}),
    update=extend_schema(summary="Replace an architecture",
                         responses={200: ArchitectureSerializer, **INVALID, **NOT_FOUND, **COMMON_ERRORS}),
    partial_update=extend_schema(summary="Change an architecture's name or spec",
                                 responses={200: ArchitectureSerializer, **INVALID, **NOT_FOUND, **COMMON_ERRORS}),
    destroy=extend_schema(summary="Delete an architecture (its jobs keep their frozen spec)",
                          responses={204: None, **NOT_FOUND, **COMMON_ERRORS}),
)  # fmt: skip
class ArchitectureViewSet(OwnedViewMixin, OwnedQuerysetMixin, viewsets.ModelViewSet):
    model = Architecture
    serializer_class = ArchitectureSerializer
    filters = [Filter("name", "name", description="Only architectures with exactly this name.")]
    ordering_fields = ["name", "created", "updated"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        check_valid(serializer)
        serializer.save(owner=request.user)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.pop("partial", False))
        check_valid(serializer)
        serializer.save()
        return Response(serializer.data)

    def perform_destroy(self, instance: Architecture) -> None:
        from workers.deletion import delete_architecture

        delete_architecture(instance)

    @extend_schema(
        summary="Check a spec without storing it",
        description="The per-layer report (output shapes, parameter counts, memory estimate) or, with a 400, "
        "every problem, each naming the layer_id and param.",
        request=ValidateRequestSerializer,
        responses={200: SpecReportSerializer, **INVALID, **COMMON_ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="validate", url_name="validate-new")
    def validate_new(self, request: Request) -> Response:
        body = ValidateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _report(body.validated_data["spec"], body.validated_data["batch_size"])

    @extend_schema(
        summary="Per-layer report of a stored architecture",
        parameters=[BatchSizeSerializer],
        responses={200: SpecReportSerializer, **INVALID, **NOT_FOUND, **COMMON_ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="validate")
    def validate(self, request: Request, pk: str | None = None) -> Response:
        architecture = self.get_object()
        query = BatchSizeSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return _report(architecture.spec, query.validated_data["batch_size"])

    @extend_schema(
        summary="Generated model source (Keras or torch.nn)",
        description="The module the workers import and train, exactly as a job would run it.",
        parameters=[CodegenQuerySerializer],
        responses={200: CodegenSerializer, **INVALID, **NOT_FOUND, **COMMON_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def codegen(self, request: Request, pk: str | None = None) -> Response:
        from builder.codegen import generate_keras, generate_torch
        from builder.spec import SpecValidationError

        architecture = self.get_object()
        query = CodegenQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        framework = query.validated_data["framework"]
        generate = generate_keras if framework == "keras" else generate_torch
        try:
            source = generate(architecture.spec)
        except SpecValidationError as exc:  # limits tightened since it was stored
            raise InvalidRequest(spec_error_entries([e.to_dict() for e in exc.errors])) from None
        return Response({"framework": framework, "filename": "model.py", "source": source})
