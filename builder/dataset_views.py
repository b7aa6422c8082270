"""Browser pages of datasets: the list, the upload form and one dataset's page.

The pages read rows through the same owner filter as the API (another user's dataset is a
404); the upload form and the delete button call the API itself from the browser.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET

from builder.datasets.access import get_owned_dataset, owned_datasets
from builder.datasets.storage import data_root
from builder.demo import DEMOS
from builder.models import Dataset

SAMPLE_ROWS = 8
SAMPLE_BYTES = 64 * 1024
# Thumbnails are written by ingestion under our own names: "<class index>-<n>.png".
THUMB_NAME = re.compile(r"\d{1,4}-\d{1,4}\.png")


@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = owned_datasets(request.user).order_by("-created", "-id")
    return render(request, "builder/dataset_list.html", {"datasets": datasets, "demos": DEMOS.values()})


@require_GET
def dataset_upload(request: HttpRequest) -> HttpResponse:
    context = {"kinds": Dataset.Kind.choices, "tasks": Dataset.Task.choices[1:]}
    return render(request, "builder/dataset_upload.html", context)


@require_GET
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = get_owned_dataset(request.user, pk)
    profile = dataset.profile or {}
    context = {
        "dataset": dataset,
        "profile": profile,
        "samples": profile.get("rows", profile.get("images")),
        "classes": class_counts(profile),
        "columns": column_rows(dataset, profile),
        "splits": profile.get("splits") or {},
        "thumbnails": profile.get("thumbnails") or [],
        "sample": sample_rows(dataset) if dataset.kind != Dataset.Kind.IMAGES else None,
        "delete": delete_dialog(dataset),
    }
    return render(request, "builder/dataset_detail.html", context)


@require_GET
def dataset_thumbnail(request: HttpRequest, pk: int, name: str) -> FileResponse:
    """One of the sample thumbnails ingestion wrote, for the dataset's owner only."""
    dataset = get_owned_dataset(request.user, pk)
    if not THUMB_NAME.fullmatch(name):
        raise Http404("No such thumbnail.")
    path = dataset.version_dir / "thumbs" / name
    if not path.is_file():
        raise Http404("No such thumbnail.")
    return FileResponse(path.open("rb"), content_type="image/png")


def delete_dialog(dataset: Dataset) -> dict[str, str]:
    """The confirmation's words; a dataset that jobs use is refused, so it says so up front."""
    jobs = dataset.training_jobs.count()
    note = "Its upload, arrays and profile are removed for good."
    if jobs:
        note += f" {jobs} training job{pluralize(jobs)} still use{pluralize(jobs, 's,')} it: delete {pluralize(jobs, 'it,them')} first."
    return {"title": f"Delete “{dataset.name}”?", "note": note, "url": f"/api/datasets/{dataset.pk}/", "next": "/datasets/"}


def class_counts(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """[{"name", "count"}] wherever the profile of this kind keeps them."""
    classes = profile.get("classes") or (profile.get("target") or {}).get("classes") or []
    return [{"name": str(c.get("name", "")), "count": int(c.get("count", 0))} for c in classes]


def column_rows(dataset: Dataset, profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The profile's columns, each with the categories the preprocessing document learned."""
    categories = {}
    doc_path = dataset.version_dir / "preprocessing.json"
    if dataset.status == Dataset.Status.READY and doc_path.is_file():
        doc = json.loads(doc_path.read_text())
        categories = {f["name"]: f.get("categories") or [] for f in doc.get("features", [])}
    target = (profile.get("target") or {}).get("column")
    rows = []
    for column in profile.get("columns") or []:
        row = dict(column)
        row["categories"] = categories.get(column.get("name"), [])
        row["is_target"] = column.get("name") == target
        rows.append(row)
    return rows


def sample_rows(dataset: Dataset) -> dict[str, Any] | None:
    """The first rows of the stored CSV upload, read from at most SAMPLE_BYTES of it."""
    if not dataset.source:
        return None
    path: Path = data_root() / dataset.source
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
        head = handle.read(SAMPLE_BYTES).decode("utf-8-sig", errors="replace")
    lines = list(csv.reader(io.StringIO(head)))
    if len(head) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut mid-way
    if not lines:
        return None
    return {"header": lines[0], "rows": lines[1 : SAMPLE_ROWS + 1]}
