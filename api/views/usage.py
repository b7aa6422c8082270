"""The caller's storage use and quota, and their per-user limits with what they use of each."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import UsageSerializer
from api.throttles import UserThrottle
from api.views.common import COMMON_ERRORS
from builder.usage import storage_usage
from serving.models import ModelEndpoint
from workers.models import Estimate, TrainingJob


class UsageView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle]

    @extend_schema(
        summary="Your storage use and quota",
        description="Bytes on disk of your datasets (uploads, arrays) and jobs (checkpoints, logs, artifacts). "
        "Uploads, ingestion and new jobs (charged an estimate of the files they will write) are refused once "
        "they would pass the quota. Also the limits on queued-or-running jobs and on named model endpoints.",
        responses={200: UsageSerializer, **COMMON_ERRORS},
    )
    def get(self, request: Request) -> Response:
        user = request.user
        return Response(UsageSerializer({
            **storage_usage(user).to_dict(),
            "active_jobs": TrainingJob.objects.filter(owner=user, status__in=TrainingJob.ACTIVE).count(),
            "active_jobs_limit": settings.LAYERLOOM_MAX_ACTIVE_JOBS,
            "estimates": Estimate.objects.filter(owner=user, status__in=Estimate.ACTIVE).count(),
            "estimates_limit": settings.LAYERLOOM_MAX_ESTIMATES,
            "endpoints": ModelEndpoint.objects.filter(owner=user).count(),
            "endpoints_limit": settings.LAYERLOOM_MAX_ENDPOINTS,
        }).data)  # fmt: skip
