"""Architectures: CRUD, validation report and generated source."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import InvalidRequest, error_body, spec_error_entries
from api.filters import Filter
from api.permissions import OwnedQuerysetMixin
from api.serializers import (
    ArchitectureSerializer,
    BatchSizeSerializer,
    CodegenQuerySerializer,
    CodegenRequestSerializer,
    CodegenSerializer,
    PresetCreateSerializer,
    SpecReportSerializer,
    ValidateRequestSerializer,
)
from api.views.common import COMMON_ERRORS, LIST_ERRORS, OwnedViewMixin, check_valid, error, owned_row
from builder.fitting import dataset_errors, fitted_preset
from builder.limits import spec_limits
from builder.models import Architecture, Dataset
from builder.spec import validate_spec
from builder.spec.presets import PresetError

NOT_FOUND = {404: error("No such architecture among yours.")}
INVALID = {400: error("Invalid fields; spec errors name the layer_id and param.")}


def _report(spec: Any, batch_size: int, dataset: Dataset | None = None) -> Response:
    report = validate_spec(spec, limits=spec_limits(), batch_size=batch_size)
    errors = report.errors + (dataset_errors(spec, report, dataset) if dataset is not None else [])
    if errors:
        # The usual error body, plus the shapes and counts of every layer that could be
        # checked, so a form can keep showing them next to the errors.
        body = error_body(400, spec_error_entries([e.to_dict() for e in errors]), "invalid")
        body["report"] = {k: v for k, v in report.to_dict().items() if k != "errors"}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return Response(report.to_dict())


def _source(spec: Any, framework: str) -> Response:
    from builder.codegen.frameworks import framework as framework_named
    from builder.spec import SpecValidationError, resolve

    try:
        resolved = resolve(spec, spec_limits())
        source = framework_named(framework).source(resolved)
    except SpecValidationError as exc:
        raise InvalidRequest(spec_error_entries([e.to_dict() for e in exc.errors])) from None
    return Response({"framework": framework, "filename": "model.py", "source": source})


@extend_schema_view(
    list=extend_schema(summary="List your architectures", responses={200: ArchitectureSerializer(many=True), **LIST_ERRORS,
                                                                      **COMMON_ERRORS}),
    retrieve=extend_schema(summary="Read an architecture", responses={200: ArchitectureSerializer, **NOT_FOUND,
                                                                       **COMMON_ERRORS}),
    create=extend_schema(summary="Create an architecture from a spec, or from a preset fitted to a dataset",
                         description='Either `{"name", "spec"}` or `{"preset", "dataset", "name"}`: the preset '
                         "(a key from GET /api/presets/) gets the dataset's input shape and an output head for its "
                         "task and classes. Naming another user's dataset answers 404.",
                         request=ArchitectureSerializer,
                         responses={201: ArchitectureSerializer, **INVALID,
                                    404: error("No such dataset among yours."), **COMMON_ERRORS}),
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
        if isinstance(request.data, dict) and "preset" in request.data:
            return self.create_from_preset(request)
        serializer = self.get_serializer(data=request.data)
        check_valid(serializer)
        serializer.save(owner=request.user)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def create_from_preset(self, request: Request) -> Response:
        body = PresetCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dataset = owned_row(Dataset, body.validated_data["dataset"], request.user, "dataset")
        try:
            spec = fitted_preset(body.validated_data["preset"], dataset)
        except PresetError as exc:
            field = "dataset" if "not ready" in str(exc) else "preset"
            raise exceptions.ValidationError({field: [str(exc)]}) from None
        name = body.validated_data.get("name") or f"{spec['name']} for {dataset.name}"[:120]
        serializer = self.get_serializer(data={"name": name, "spec": spec, "dataset": dataset.pk})
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
        "every problem, each naming the layer_id and param, and under `report` the shapes of the layers that "
        "could be checked. With `dataset`, also whether the spec fits that dataset of yours.",
        request=ValidateRequestSerializer,
        responses={200: SpecReportSerializer, **INVALID, 404: error("No such dataset among yours."), **COMMON_ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="validate", url_name="validate-new")
    def validate_new(self, request: Request) -> Response:
        body = ValidateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dataset_id = body.validated_data.get("dataset")
        dataset = owned_row(Dataset, dataset_id, request.user, "dataset") if dataset_id is not None else None
        return _report(body.validated_data["spec"], body.validated_data["batch_size"], dataset)

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
        architecture = self.get_object()
        query = CodegenQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # A 400 here means limits were tightened since it was stored.
        return _source(architecture.spec, query.validated_data["framework"])

    @extend_schema(
        summary="Generated model source for a spec that is not stored",
        description="What GET .../codegen/ gives for a saved architecture, for a spec being edited.",
        request=CodegenRequestSerializer,
        responses={200: CodegenSerializer, **INVALID, **COMMON_ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="codegen", url_name="codegen-new")
    def codegen_new(self, request: Request) -> Response:
        body = CodegenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _source(body.validated_data["spec"], body.validated_data["framework"])
