"""A dataset is visible to its owner only; anyone else gets 404."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from builder.datasets.access import get_owned_dataset, owned_datasets
from builder.models import Dataset

pytestmark = pytest.mark.django_db


def test_other_users_get_404(alice, bob):
    dataset = Dataset.objects.create(owner=alice, name="<b>mine</b>", kind="tabular", sha256="0" * 64)
    assert get_owned_dataset(alice, dataset.pk) == dataset
    with pytest.raises(Http404):
        get_owned_dataset(bob, dataset.pk)
    with pytest.raises(Http404):
        get_owned_dataset(alice, "not-a-number")
    assert list(owned_datasets(bob)) == [] and list(owned_datasets(AnonymousUser())) == []
