"""Admin pages for architectures and datasets."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from builder.models import Architecture, Dataset
from builder.spec import presets

pytestmark = pytest.mark.django_db


def test_architecture_list_and_change(admin_client: Any, alice: Any) -> None:
    arch = Architecture.objects.create(owner=alice, name="lenet", spec=presets()["lenet5"])
    html = admin_client.get("/admin/builder/architecture/?q=alice").content.decode()
    assert "lenet" in html and "61,706" in html
    page = admin_client.get(f"/admin/builder/architecture/{arch.pk}/change/").content.decode()
    assert "Valid:" in page


def test_admin_cannot_save_an_invalid_spec(admin_client: Any, alice: Any) -> None:
    import json

    arch = Architecture.objects.create(owner=alice, name="mlp", spec=presets()["mlp"])
    bad = copy.deepcopy(arch.spec)
    bad["layers"][0]["params"]["units"] = 0
    response = admin_client.post(f"/admin/builder/architecture/{arch.pk}/change/",
                                 {"owner": alice.pk, "name": "mlp", "spec": json.dumps(bad)})  # fmt: skip
    assert response.status_code == 200 and "units" in response.content.decode()
    arch.refresh_from_db()
    assert arch.spec["layers"][0]["params"]["units"] == 64


def test_dataset_list_filters_and_read_only_page(admin_client: Any, alice: Any) -> None:
    ds = Dataset.objects.create(owner=alice, name="iris", kind="tabular", status="ready", sha256="a" * 64,
                                size_bytes=4096)  # fmt: skip
    html = admin_client.get("/admin/builder/dataset/?status__exact=ready&kind__exact=tabular").content.decode()
    assert "iris" in html and "4.0 KiB" in html
    assert admin_client.get(f"/admin/builder/dataset/{ds.pk}/change/").status_code == 200
    assert admin_client.get("/admin/builder/dataset/add/").status_code == 403
