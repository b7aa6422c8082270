"""Predict requests, for a job and for a named endpoint: body limits, then serving.predict.

The views only read the request and translate errors: what a prediction is lives in
serving.predict, which the browser's pages call too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import Conflict, PayloadTooLarge
from api.parsers import JSONParser
from api.serializers import PredictRequestSerializer, PredictResponseSerializer
from api.views.common import COMMON_ERRORS, error
from builder.datasets.kinds import DatasetKind, all_kinds
from serving.predict import InputProblems, NotServable

# The API's bounded JSON parser: a body nested thousands deep is a 400, not a RecursionError.
PARSERS = [JSONParser, MultiPartParser]

# The multipart body has its own schema: one schema listed under two content types makes
# openapi-python-client send every body as both (its issues 1276 and 1451).
PREDICT_FILES = inline_serializer("PredictFilesRequest", fields={
    "images": serializers.ListField(child=serializers.FileField(), required=False, help_text="Image models: files."),
    "clips": serializers.ListField(child=serializers.FileField(), required=False,
                                   help_text="Audio models: WAV, FLAC or OGG files."),
})  # fmt: skip


def _body_shapes() -> str:
    """'{"rows": [...]}, {"images": [...]} or {"texts": [...]}': one per registered kind."""
    shapes = [f'{{"{kind.predict_fields.many}": [...]}}' for kind in all_kinds()]
    return shapes[0] if len(shapes) == 1 else f"{', '.join(shapes[:-1])} or {shapes[-1]}"


def predict_schema(summary: str, not_found: str) -> Callable[[Any], Any]:
    return extend_schema(
        summary=summary,
        description=" ".join(kind.predict_doc for kind in all_kinds())
        + " Each input is prepared with the dataset's preprocessing, as in training, and run on ONNX Runtime.",
        request={"application/json": PredictRequestSerializer, "multipart/form-data": PREDICT_FILES},
        responses={200: PredictResponseSerializer, 400: error("A bad input; the field names it."),
                   404: error(not_found), 409: error("The job has not succeeded, or has no model file."),
                   413: error("The body is over LAYERLOOM_PREDICT_MAX_BODY_BYTES."), **COMMON_ERRORS},
        examples=[OpenApiExample("table rows", value={"rows": [{"length": 5.1, "width": 3.5, "colour": "red"}]},
                                 request_only=True)],
    )  # fmt: skip


def predict_response(
    request: Request, call: Callable[[dict[str, Any], Any], dict[str, Any]], kind: Callable[[], DatasetKind]
) -> Response:
    """Check the body's size, read it, call ``call(data, files)``, and turn errors into 4xx.

    ``kind`` gives the model's dataset kind, read only to name its input field in a message."""
    limit = settings.LAYERLOOM_PREDICT_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(
            f"The request body is {length:,} bytes, over the limit of {limit:,}; send fewer inputs per request."
        )
    if not request.content_type.startswith("multipart/") and not length:
        raise exceptions.ValidationError({kind().predict_fields.many: ["The body is empty; send the inputs as JSON."]})
    multipart = request.content_type.startswith("multipart/")
    try:
        files = request.FILES if multipart else None
        body = request.data
    except TooManyFilesSent:
        cap, fields = settings.DATA_UPLOAD_MAX_NUMBER_FILES, kind().predict_fields
        raise exceptions.ValidationError({fields.many: [
            f"At most {cap} files in one request: send more {fields.what}s in several requests, or as base64 in JSON."
        ]}) from None  # fmt: skip
    except RequestDataTooBig:
        # Django's cap on bodies read into memory (files in a multipart body stream past it).
        cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise PayloadTooLarge(
            f"A JSON body may be at most {cap:,} bytes; send images as files in a multipart body, "
            "or fewer inputs per request."
        ) from None
    if not isinstance(body, dict):
        raise exceptions.ValidationError(f"Send a JSON object: {_body_shapes()}.")
    data = {key: body[key] for key in body if not files or key not in files}
    try:
        return Response(call(data, files))
    except NotServable as exc:
        raise Conflict(str(exc)) from None
    except InputProblems as exc:
        raise exceptions.ValidationError(exc.problems) from None
