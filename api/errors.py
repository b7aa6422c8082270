"""One error shape for every API response that is not a success.

Every error body looks like::

    {"status": 400, "code": "invalid", "message": "name: This field is required.",
     "errors": [{"field": "name", "code": "required", "message": "This field is required."}]}

``field`` names the request field (dotted for nested ones, ``null`` when the error is not
about one field). Architecture spec errors also carry ``layer_id``, ``param`` and ``path``
so a client can point at the exact layer. The handler is wired in as DRF's
EXCEPTION_HANDLER, so serializers, permissions, throttles, parsers and 404s all agree.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from builder.datasets.errors import OptionsError
from builder.datasets.upload import UploadTooLarge
from workers.lifecycle import QueueUnavailable

NON_FIELD_KEYS = {"non_field_errors", "__all__", "detail"}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"

    def __init__(self, detail: str | None = None, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class Conflict(exceptions.APIException):
    """The action does not apply to the object in its current state."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is not in a state that allows this."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    """A service the request needs (the broker) is down; the message says what to do."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service this request needs is unavailable; try again shortly."
    default_code = "unavailable"
    # DRF sends a ``wait`` as Retry-After: clients that honour it (the CLI does) try again then.
    wait = 30


class SignInLocked(exceptions.Throttled):
    """A 429 whose message already says when to retry (DRF's would append its own sentence)."""

    def __init__(self, message: str, wait: int) -> None:
        super().__init__(wait=wait)
        self.detail = exceptions.ErrorDetail(message, code=self.default_code)


class InvalidRequest(exceptions.ValidationError):
    """A 400 whose entries are already in the public shape (used for spec errors)."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        super().__init__({e.get("field") or "non_field_errors": [e["message"]] for e in entries})
        self.entries = entries


def spec_error_entries(errors: list[dict[str, Any]], field: str = "spec") -> list[dict[str, Any]]:
    """builder.spec errors as public entries: the request field plus where in the spec."""
    return [
        {
            "field": field,
            "code": e["code"],
            "message": e["message"],
            "layer_id": e.get("layer_id"),
            "param": e.get("param"),
            "path": e.get("path", ""),
        }
        for e in errors
    ]


def flatten_details(details: Any, prefix: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested get_full_details() as a flat list of {field, code, message}."""
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        return [{"field": prefix, "code": str(details["code"]), "message": str(details["message"])}]
    if isinstance(details, dict):
        out: list[dict[str, Any]] = []
        for key, value in details.items():
            name = None if key in NON_FIELD_KEYS else str(key)
            path = ".".join(p for p in (prefix, name) if p) or None
            out.extend(flatten_details(value, path))
        return out
    if isinstance(details, list):
        out = []
        for index, value in enumerate(details):
            # A list of messages for one field keeps the field name; a list of objects gets indices.
            is_message = isinstance(value, dict) and set(value) == {"message", "code"}
            out.extend(flatten_details(value, prefix if is_message else f"{prefix}.{index}" if prefix else str(index)))
        return out
    return [{"field": prefix, "code": "invalid", "message": str(details)}]


def _summary(entries: list[dict[str, Any]]) -> str:
    parts = [f"{e['field']}: {e['message']}" if e.get("field") else e["message"] for e in entries[:5]]
    more = f" (and {len(entries) - 5} more)" if len(entries) > 5 else ""
    return " ".join(parts) + more


def _translate(exc: Exception) -> Exception:
    """Django exceptions that reach a view become their DRF equivalents."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, OptionsError):  # bad upload fields from builder.datasets, one message per field
        return exceptions.ValidationError(exc.message_dict)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge("The request body is larger than the server accepts.")
    if isinstance(exc, TooManyFilesSent):
        return exceptions.ValidationError({"file": ["Too many files in one request: send one file per upload."]})
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ValidationError("Too many form fields in one request.")
    if isinstance(exc, exceptions.ParseError) and isinstance(exc.__context__, UploadTooLarge):
        # DRF wraps the upload handler's error in a generic parse error; keep its message and say 413.
        return PayloadTooLarge(str(exc.__context__), field="file")
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError("The request could not be read.")
    if isinstance(exc, QueueUnavailable):
        return ServiceUnavailable(str(exc))
    return exc


def error_body(status_code: int, entries: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return {"status": status_code, "code": code, "message": _summary(entries), "errors": entries}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _translate(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handling (and its logging) takes over
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, InvalidRequest):
        entries = exc.entries
    elif isinstance(exc, exceptions.ValidationError):
        entries = flatten_details(exc.get_full_details())
    else:
        entries = [{"field": getattr(exc, "field", None), "code": exc.get_codes(), "message": str(exc.detail)}]
    code = "invalid" if isinstance(exc, exceptions.ValidationError) else str(exc.default_code)
    if isinstance(exc, exceptions.Throttled):
        code = "throttled"
    response.data = error_body(response.status_code, entries or [{"field": None, "code": code, "message": code}], code)
    return response
