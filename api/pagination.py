"""Page-number pagination with a client-chosen page size, capped."""

from __future__ import annotations

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
