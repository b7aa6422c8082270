"""Datasets are private: another user's dataset is reported as not found (404), never as forbidden."""

from __future__ import annotations

from typing import Any

from django.http import Http404


def owned_datasets(user: Any) -> Any:
    from builder.models import Dataset

    if not getattr(user, "is_authenticated", False):
        return Dataset.objects.none()
    return Dataset.objects.filter(owner=user)


def get_owned_dataset(user: Any, pk: Any) -> Any:
    try:
        return owned_datasets(user).get(pk=pk)
    except (ValueError, TypeError, owned_datasets(user).model.DoesNotExist):
        raise Http404("No such dataset.") from None
