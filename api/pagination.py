"""Page-number pagination with a client-chosen page size, capped."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        # DRF silently falls back to the default on a bad page_size; a client should hear about it.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError({"page_size": [f"Give a whole number from 1 to {self.max_page_size}."]})
        return min(size, self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> int:
        # An empty or non-numeric page is a mistake to name, not page 1 (DRF reads "" as page 1).
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            message = "Give a page number from 1 (each answer's next and previous link to the others)."
            raise exceptions.ValidationError({"page": [message]})
        return int(raw)
