"""Allowlisted filtering and ordering for list endpoints.

A view declares exactly which query parameters it understands. Anything else is a 400
naming the parameter, and a Django lookup (``owner__username=...``, ``ordering=owner__email``)
is refused outright: such lookups would let a client probe fields of related rows it cannot
see. The same declarations feed the OpenAPI schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

# Parameters every list understands (pagination and DRF's format suffix).
COMMON_PARAMS = {"page", "page_size", "format"}


@dataclass(frozen=True)
class Filter:
    """One allowlisted filter: the query parameter, the model lookup, and how to read the value."""

    param: str
    lookup: str
    kind: str = "str"  # "str", "int" or "choice"
    choices: tuple[str, ...] = ()
    description: str = ""

    def parse(self, raw: str) -> Any:
        if self.kind == "int":
            try:
                return int(raw)
            except ValueError:
                raise _bad(self.param, f"Give a whole number, not {raw[:40]!r}.", "invalid") from None
        if self.kind == "choice" and raw not in self.choices:
            raise _bad(self.param, f"Choose one of: {', '.join(self.choices)}.", "invalid_choice")
        return raw


def _bad(param: str, message: str, code: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({param: [exceptions.ErrorDetail(message, code=code)]})


class AllowlistFilterBackend(BaseFilterBackend):
    """Reads ``filters``, ``ordering_fields`` and ``extra_query_params`` from the view."""

    def _declared(self, view: Any) -> tuple[list[Filter], list[str], set[str]]:
        filters: list[Filter] = list(getattr(view, "filters", ()))
        ordering: list[str] = list(getattr(view, "ordering_fields", ()))
        extra: set[str] = set(getattr(view, "extra_query_params", ()))
        return filters, ordering, extra

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if getattr(view, "action", None) != "list":
            return queryset
        filters, ordering, extra = self._declared(view)
        by_param = {f.param: f for f in filters}
        allowed = set(by_param) | COMMON_PARAMS | extra | ({"ordering"} if ordering else set())
        for param in request.query_params:
            if "__" in param:
                raise _bad(param, "Lookups across fields ('__') are not allowed. Filter on: "
                           f"{', '.join(sorted(by_param)) or 'nothing'}.", "lookup_not_allowed")  # fmt: skip
            if param not in allowed:
                raise _bad(param, f"Unknown query parameter. Accepted: {', '.join(sorted(allowed))}.", "unknown_param")
        for param, spec in by_param.items():
            if param in request.query_params:
                queryset = queryset.filter(**{spec.lookup: spec.parse(request.query_params[param])})
        if ordering and "ordering" in request.query_params:
            keys = [k.strip() for k in request.query_params["ordering"].split(",")]
            for key in keys:
                if not key.lstrip("-"):
                    raise _bad("ordering", f"Order by one of: {', '.join(ordering)} (prefix '-' to reverse).",
                               "invalid_choice")  # fmt: skip
                if "__" in key:
                    raise _bad("ordering", "Ordering across fields ('__') is not allowed.", "lookup_not_allowed")
                if key.lstrip("-") not in ordering:
                    raise _bad("ordering", f"Order by one of: {', '.join(ordering)} (prefix '-' to reverse).",
                               "invalid_choice")  # fmt: skip
            if keys:
                queryset = queryset.order_by(*keys, "-pk")
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        filters, ordering, _ = self._declared(view)
        params: list[dict[str, Any]] = []
        for f in filters:
            schema: dict[str, Any] = {"type": "integer"} if f.kind == "int" else {"type": "string"}
            if f.choices:
                schema["enum"] = list(f.choices)
            params.append({"name": f.param, "in": "query", "required": False,
                           "description": f.description or f"Only items whose {f.param} is this.", "schema": schema})  # fmt: skip
        if ordering:
            params.append({
                "name": "ordering", "in": "query", "required": False,
                "description": f"Comma-separated fields to order by, '-' for descending: {', '.join(ordering)}.",
                "schema": {"type": "string", "enum": [p for o in ordering for p in (o, f"-{o}")]},
            })  # fmt: skip
        return params
