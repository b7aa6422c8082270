"""/api/jobs/logs/?ids=3,4: several jobs' TensorBoard logs as one folder, in one zip.

Each job's own tensorboard.zip is unpacked under the job's folder name (`job-3-keras-wine/`),
so `tensorboard --logdir layerloom-logs` shows every job as its own train and validation runs
and the HParams view compares them.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import PurePosixPath
from typing import IO

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from api.throttles import UserThrottle
from api.views.common import COMMON_ERRORS, error
from api.views.jobs import AnyAccept
from workers.logfolders import job_log_folder
from workers.models import Artifact, TrainingJob

TOP_FOLDER = "layerloom-logs"
MAX_JOBS = 50  # a comparison, not a backup: bounds the work of one request


def parse_ids(raw: str | None) -> list[int]:
    """`3,4` (or `3, 4`) in the order given, each once; anything else is a clear 400."""
    parts = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise exceptions.ValidationError({"ids": ["Give job ids separated by commas, for example ?ids=3,4."]})
    ids = list(dict.fromkeys(int(part) for part in parts))
    if len(ids) > MAX_JOBS:
        raise exceptions.ValidationError({"ids": [f"At most {MAX_JOBS} jobs at once; you gave {len(ids)}."]})
    return ids


def copy_job_logs(out: zipfile.ZipFile, job: TrainingJob, archive: IO[bytes]) -> None:
    """The job's zip, its top folder (`tensorboard/` in older zips) renamed to the job's folder."""
    folder = PurePosixPath(TOP_FOLDER, job_log_folder(job.pk, job.framework, job.dataset.name))
    with zipfile.ZipFile(archive) as source:
        for info in source.infolist():
            parts = PurePosixPath(info.filename).parts[1:]
            if info.is_dir() or not parts or ".." in parts:
                continue
            with source.open(info) as src, out.open(str(folder.joinpath(*parts)), "w") as dst:
                shutil.copyfileobj(src, dst)


class JobLogsView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle]
    content_negotiation_class = AnyAccept

    @extend_schema(
        summary="Download several jobs' TensorBoard logs as one folder",
        description="A zip holding `layerloom-logs/job-<id>-<framework>-<dataset>/` for each job, with its "
        "`train` and `validation` runs and its hyperparameters: run `tensorboard --logdir layerloom-logs` "
        "to compare the jobs' curves and, in the HParams tab, their settings and final metrics.",
        parameters=[OpenApiParameter("ids", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True,
                                     description="Job ids separated by commas, for example `3,4`.")],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The zip."),
            400: error("No ids, ids that are not numbers, too many, or a job without logs yet (named)."),
            404: error("A job that is not among yours (named)."),
            **COMMON_ERRORS,
        },
    )  # fmt: skip
    def get(self, request: Request) -> FileResponse:
        ids = parse_ids(request.query_params.get("ids"))
        jobs = {j.pk: j for j in TrainingJob.objects.filter(owner=request.user, pk__in=ids).select_related("dataset")}
        unknown = [pk for pk in ids if pk not in jobs]
        if unknown:
            missing = exceptions.NotFound(f"No job with id {', '.join(map(str, unknown))} among yours.")
            missing.field = "ids"  # type: ignore[attr-defined]
            raise missing
        logs = {a.job_id: a for a in Artifact.objects.filter(job_id__in=ids, kind="tensorboard")}
        files = {pk: logs[pk].stored_file() if pk in logs else None for pk in ids}
        without = [f"#{pk} ({jobs[pk].get_status_display().lower()})" for pk in ids if files[pk] is None]
        if without:
            raise exceptions.ValidationError({"ids": [
                f"No TensorBoard logs yet for job {', '.join(without)}: logs are written when a job ends "
                "(finished or cancelled). Leave such jobs out."]})  # fmt: skip
        spooled = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so deletes) it
        with zipfile.ZipFile(spooled, "w", zipfile.ZIP_DEFLATED) as out:
            for pk in ids:
                with open(files[pk], "rb") as archive:  # type: ignore[arg-type]
                    copy_job_logs(out, jobs[pk], archive)
        spooled.seek(0)
        name = f"tensorboard-jobs-{'-'.join(map(str, ids[:8]))}.zip"
        return FileResponse(spooled, as_attachment=True, filename=name, content_type="application/octet-stream")
