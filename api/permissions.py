"""Ownership: every object is private to its owner.

Views never look rows up by id alone: their queryset is already narrowed to the
requesting user's rows, so another user's id is simply not found (404), which neither
reveals that it exists nor lets anything change. IsOwner is a second line of defence.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsOwner(BasePermission):
    def has_object_permission(self, request: Request, view: Any, obj: Model) -> bool:
        return getattr(obj, "owner_id", None) == request.user.pk


class OwnedQuerysetMixin:
    """get_queryset() filtered to request.user; subclasses set ``model``."""

    model: type[Model]
    request: Request

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return self.model.objects.none()
        return self.model.objects.filter(owner=self.request.user)  # type: ignore[attr-defined]
