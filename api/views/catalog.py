"""The layer palette and the presets: the same for every user."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import LayerTypeSerializer, PresetQuerySerializer, PresetSerializer
from api.throttles import UserThrottle
from api.views.common import COMMON_ERRORS, error, owned_row
from builder.fitting import fitted_presets
from builder.models import Dataset
from builder.spec import layer_catalog, presets
from builder.spec.presets import PresetError


class LayerCatalogView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle]

    @extend_schema(
        summary="Layer types with the JSON Schema of their parameters",
        responses={200: LayerTypeSerializer(many=True), **COMMON_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(layer_catalog())


class PresetListView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle]

    @extend_schema(
        summary="Architectures to start from, optionally fitted to one of your datasets",
        description="Without `dataset`: every preset as published. With `dataset=<id>`: only the presets that "
        "suit that dataset, each with its input shape and output head fitted to it (create one with "
        '`POST /api/architectures/` and `{"preset": KEY, "dataset": ID}`).',
        parameters=[PresetQuerySerializer],
        responses={
            200: PresetSerializer(many=True),
            400: error("The dataset is not ready yet, or the id is not a number."),
            404: error("No such dataset among yours."),
            **COMMON_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        query = PresetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        dataset_id = query.validated_data.get("dataset")
        if dataset_id is None:
            specs = presets()
        else:
            dataset = owned_row(Dataset, dataset_id, request.user, "dataset")
            try:
                specs = fitted_presets(dataset)
            except PresetError as exc:
                raise exceptions.ValidationError({"dataset": [str(exc)]}) from None
        return Response(
            [
                {"key": key, "name": spec.get("name", key), "description": spec.get("description", ""), "spec": spec}
                for key, spec in specs.items()
            ]
        )
