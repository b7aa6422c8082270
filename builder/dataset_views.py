"""Browser pages of datasets: the list, the upload form and one dataset's page.

The pages read rows through the same owner filter as the API (another user's dataset is a
404); the upload form and the delete button call the API itself from the browser.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET

from builder.datasets.access import get_owned_dataset, owned_datasets
from builder.datasets.kinds import all_kinds, get_kind
from builder.datasets.split import split_choice
from builder.datasets.storage import stored_source
from builder.demo import DEMOS
from builder.models import Dataset
from webapp import filestore


@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = owned_datasets(request.user).order_by("-created", "-id")
    return render(request, "builder/dataset_list.html", {"datasets": datasets, "demos": DEMOS.values()})


@require_GET
def dataset_upload(request: HttpRequest) -> HttpResponse:
    # Each kind brings its label, help line, accepted files and option controls (a partial).
    context = {"kinds": [kind.public() for kind in all_kinds()], "tasks": Dataset.Task.choices[1:]}
    return render(request, "builder/dataset_upload.html", context)


@require_GET
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = get_owned_dataset(request.user, pk)
    kind = get_kind(dataset.kind)
    profile = dataset.profile or {}
    source = stored_source(dataset)
    context = {
        "dataset": dataset,
        "kind": kind,
        "profile": profile,
        "samples": kind.sample_count(profile),
        "classes": class_counts(profile),
        "splits": profile.get("splits") or {},
        "split": split_choice(dataset.options.get("split"), profile.get("splits") or {}),
        "delete": delete_dialog(dataset),
        **kind.page_context(dataset, source),  # what the kind's sample_template shows
    }
    return render(request, "builder/dataset_detail.html", context)


@require_GET
def dataset_thumbnail(request: HttpRequest, pk: int, name: str) -> FileResponse:
    """A file ingestion wrote for the dataset's page (a thumbnail, a clip), for its owner only.

    The kind answers only for names it wrote itself; any other name is a 404.
    """
    dataset = get_owned_dataset(request.user, pk)
    media = get_kind(dataset.kind).sample_media(dataset.version_dir, name)
    path = filestore.fetched(media.path) if media is not None else None
    if media is None or path is None or not path.is_file():
        raise Http404("No such file.")
    return FileResponse(path.open("rb"), content_type=media.content_type)


def delete_dialog(dataset: Dataset) -> dict[str, Any]:
    """The confirmation's words; a dataset that jobs use is refused, so it says so up front and
    offers to delete those jobs with it."""
    jobs = dataset.training_jobs.count()
    note = "Its upload, arrays and profile are removed for good."
    if jobs:
        note += f" {jobs} training job{pluralize(jobs)} still use{pluralize(jobs, 's,')} it."
    label = f"Delete with its {jobs} job{pluralize(jobs)}" if jobs else "Delete with its jobs"
    refused = "Training jobs use this dataset, so it was kept. Delete them together with it (with their files), or keep it."
    return {"title": f"Delete “{dataset.name}”?", "note": note, "url": f"/api/datasets/{dataset.pk}/", "next": "/datasets/",
            "with_jobs": {"label": label, "refused": refused}}  # fmt: skip


def class_counts(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """[{"name", "count"}] wherever the profile of this kind keeps them."""
    classes = profile.get("classes") or (profile.get("target") or {}).get("classes") or []
    return [{"name": str(c.get("name", "")), "count": int(c.get("count", 0))} for c in classes]
