"""Pieces shared by the API views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import InvalidRequest, flatten_details, spec_error_entries
from api.filters import AllowlistFilterBackend
from api.pagination import Pagination
from api.permissions import IsOwner
from api.serializers import ErrorSerializer
from api.throttles import UserThrottle


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


# The error responses every authenticated endpoint can give; views add their own 400/404/409.
COMMON_ERRORS = {
    401: error("No or bad credentials."),
    403: error("Session request without a CSRF token."),
    429: error("Too many requests; retry after the Retry-After header's seconds."),
}


# Lists: a filter the view does not allow, or a page past the end.
LIST_ERRORS = {400: error("Unknown or refused filter or ordering."), 404: error("No such page.")}


class OwnedViewMixin:
    """Authenticated, owner-scoped, allowlisted filters, paginated, throttled per user."""

    permission_classes = [IsAuthenticated, IsOwner]
    filter_backends = [AllowlistFilterBackend]
    pagination_class = Pagination
    throttle_classes: list[type] = [UserThrottle]


def owned_row(model: type[Any], pk: Any, user: Any, field: str) -> Any:
    """Another user's row and a missing row look the same: 404 naming the field."""
    found = model.objects.filter(owner=user, pk=pk).first()
    if found is None:
        exc = exceptions.NotFound(f"No {field} with id {pk} among yours.")
        exc.field = field  # type: ignore[attr-defined]
        raise exc
    return found


def check_valid(serializer: serializers.Serializer) -> None:
    """Like is_valid(raise_exception=True), but spec errors keep their layer ids."""
    if serializer.is_valid():
        return
    spec_errors: list[dict[str, Any]] = getattr(serializer, "spec_errors", [])
    if not spec_errors:
        raise exceptions.ValidationError(serializer.errors)
    other = {k: v for k, v in serializer.errors.items() if k != "spec"}
    entries = flatten_details(exceptions.ValidationError(other).get_full_details()) if other else []
    raise InvalidRequest(entries + spec_error_entries(spec_errors))


class NotFoundView(APIView):
    """Any other path under /api/: a JSON 404 instead of an HTML page."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    throttle_classes: list[type] = []
    schema = None  # not part of the public API

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound("No API endpoint at this address; see /api/docs/.")

    get = post = put = patch = delete = head = options = _not_found
