"""POST /api/datasets/inspect/: how a table file will be read, before it is uploaded.

The upload page sends a CSV's first 64 KiB (or a whole Parquet or Excel file up to 16 MiB) and
gets back the format, separator, encoding, decimal mark and sheet that ingestion will use, and
the columns they give. Its preview (papaparse) then reads the file with the same separator and
encoding, so the page's column menus and the dataset agree. Nothing is stored.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.parsers import loads
from api.throttles import UserThrottle
from api.views.common import COMMON_ERRORS, error
from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits, human_bytes
from builder.datasets.tablefile import (
    DECIMALS,
    DELIMITERS,
    INSPECT_MAX_BYTES,
    SheetMissing,
    check_format_options,
    inspect_table,
)

READ_OPTIONS = ("delimiter", "file_encoding", "decimal", "sheet")


class InspectRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV's first 64 KiB, or a whole Parquet or Excel file (up to 16 MiB).")
    options = serializers.CharField(
        required=False,
        allow_blank=True,  # a form sends an empty field for "no options": the same as leaving it out
        help_text='JSON object with any of "delimiter", "file_encoding", "decimal", "sheet" (as for the upload); '
        "empty or left out: all detected.",
    )


class InspectSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "parquet", "xlsx"])
    detected = serializers.ListField(child=serializers.CharField(), help_text="What came from the file, not options.")
    delimiter = serializers.ChoiceField(choices=list(DELIMITERS), required=False)
    delimiter_name = serializers.CharField(required=False)
    encoding = serializers.CharField(required=False, help_text="Python's name of the encoding.")
    encoding_name = serializers.CharField(required=False)
    browser_encoding = serializers.CharField(required=False, help_text="The browser's (WHATWG) name for it.")
    decimal = serializers.ChoiceField(choices=list(DECIMALS), required=False)
    decimal_name = serializers.CharField(required=False)
    sheet = serializers.CharField(required=False, allow_null=True)
    sheets = serializers.ListField(child=serializers.CharField())
    columns = serializers.ListField(child=serializers.CharField())


def read_options(raw: Any) -> dict[str, Any]:
    """The reading options of a multipart JSON text; other upload options are ignored here."""
    try:
        options = loads(raw) if raw else {}
    except exceptions.ParseError:
        options = None
    if not isinstance(options, dict):
        raise exceptions.ValidationError({"options": ["Give the options as a JSON object."]})
    chosen = {key: options[key] for key in READ_OPTIONS if options.get(key) not in (None, "")}
    errors = check_format_options(chosen)
    if errors:
        raise exceptions.ValidationError({k: [v] for k, v in errors.items()})
    return chosen


class DatasetInspectView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="How a table file will be read (the upload page's preview)",
        description="Send a CSV's first 64 KiB, or a whole Parquet or Excel file, with the reading options "
        "chosen so far; the answer is what ingestion will use and the columns it gives. Nothing is stored.",
        request={"multipart/form-data": InspectRequestSerializer},
        responses={200: InspectSerializer, 400: error("A file that cannot be read as a table, or a bad option "
                                                      "(named)."), **COMMON_ERRORS},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        if int(request.META.get("CONTENT_LENGTH") or 0) > INSPECT_MAX_BYTES + 64 * 1024:
            raise exceptions.ValidationError({"file": [f"Send at most {human_bytes(INSPECT_MAX_BYTES)}."]})
        body = InspectRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        options = read_options(body.validated_data.get("options"))
        uploaded = body.validated_data["file"]
        if uploaded.size > INSPECT_MAX_BYTES:
            raise exceptions.ValidationError({"file": [f"Send at most {human_bytes(INSPECT_MAX_BYTES)}."]})
        with tempfile.TemporaryDirectory(prefix="inspect-") as folder:
            path = Path(folder) / "head"
            with path.open("wb") as out:
                for chunk in uploaded.chunks():
                    out.write(chunk)
            try:
                found = inspect_table(path, options, Limits.from_settings())
            except DatasetError as exc:
                raise exceptions.ValidationError(
                    {"sheet" if isinstance(exc, SheetMissing) else "file": [str(exc)]}
                ) from None
        return Response(InspectSerializer(found).data)
