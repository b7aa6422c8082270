"""The layer palette and the presets: the same for every user."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import LayerTypeSerializer, PresetSerializer
from api.throttles import UserThrottle
from api.views.common import COMMON_ERRORS
from builder.spec import layer_catalog, presets


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
        summary="Architectures to start from (create one by POSTing a preset's spec)",
        responses={200: PresetSerializer(many=True), **COMMON_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(
            [
                {"key": key, "name": spec.get("name", key), "description": spec.get("description", ""), "spec": spec}
                for key, spec in presets().items()
            ]
        )
