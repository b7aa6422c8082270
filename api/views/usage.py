"""The caller's storage use and quota."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import UsageSerializer
from api.throttles import UserThrottle
from api.views.common import COMMON_ERRORS
from builder.usage import storage_usage


class UsageView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle]

    @extend_schema(
        summary="Your storage use and quota",
        description="Bytes on disk of your datasets (uploads, arrays) and jobs (checkpoints, logs, artifacts). "
        "Uploads and ingestion are refused once they would pass the quota.",
        responses={200: UsageSerializer, **COMMON_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(UsageSerializer(storage_usage(request.user).to_dict()).data)
