"""Submit a training job from the shell and follow it: `manage.py train --dataset 3 --spec mlp.json`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from builder.codegen.frameworks import NAMES
from builder.models import Architecture, Dataset
from workers.hyperparameters import Hyperparameters
from workers.models import TrainingJob
from workers.services import JobRejected, submit_job


class Command(BaseCommand):
    help = "Submit a training job (through the same checks as the API) and print its progress."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--architecture", type=int, help="id of a saved architecture")
        source.add_argument("--spec", type=Path, help="a spec JSON file (format 1)")
        parser.add_argument("--dataset", type=int, required=True)
        parser.add_argument("--framework", choices=NAMES, required=True)
        parser.add_argument("--user", help="owner's username (default: the dataset's owner)")
        for name, field in Hyperparameters.model_fields.items():
            parser.add_argument(f"--{name.replace('_', '-')}", dest=f"hp_{name}", help=field.description)
        parser.add_argument("--no-wait", action="store_true", help="submit and return")

    def handle(self, *args: Any, **opts: Any) -> None:
        dataset = Dataset.objects.filter(pk=opts["dataset"]).first() or _missing("dataset", opts["dataset"])
        owner = get_user_model().objects.get(username=opts["user"]) if opts["user"] else dataset.owner
        architecture, spec = None, None
        if opts["architecture"]:
            architecture = Architecture.objects.filter(pk=opts["architecture"], owner=owner).first()
            architecture = architecture or _missing("architecture", opts["architecture"])
        else:
            spec = json.loads(opts["spec"].read_text())
        hp = {k[3:]: _value(v) for k, v in opts.items() if k.startswith("hp_") and v is not None}
        try:
            job = submit_job(owner, architecture=architecture, spec=spec, dataset=dataset,
                             framework=opts["framework"], hyperparameters=hp)  # fmt: skip
        except JobRejected as exc:
            raise CommandError("\n".join(f"{k}: {m}" for k, ms in exc.field_errors.items() for m in ms)) from None
        self.stdout.write(f"job {job.pk} queued on {job.queue!r}")
        if not opts["no_wait"]:
            self.follow(job)

    def follow(self, job: TrainingJob) -> None:
        shown, last = 0, ""
        while True:
            job.refresh_from_db()
            for metric in job.metrics.filter(epoch__gt=shown):
                values = ", ".join(f"{k} {v:.4g}" for k, v in metric.values.items() if isinstance(v, float))
                self.stdout.write(f"epoch {metric.epoch}/{job.total_epochs}: {values}")
                shown = metric.epoch
            line = f"{job.status} {job.percent:.0f}% epoch {job.epoch} batch {job.batch}/{job.batches_per_epoch}"
            if line != last and job.status == TrainingJob.Status.RUNNING:
                self.stdout.write(line + (f" eta {job.eta_seconds:.0f}s" if job.eta_seconds else ""))
                last = line
            if job.status in TrainingJob.FINISHED:
                break
            time.sleep(1)
        self.stdout.write(f"job {job.pk} {job.status}" + (f": {job.error}" if job.error else ""))
        if job.evaluation:
            ev = job.evaluation
            keys = ("accuracy", "loss", "macro_f1") if ev.get("task") == "classification" else ("mae", "rmse", "r2")
            self.stdout.write("test split: " + ", ".join(f"{k} {ev[k]:.4g}" for k in keys if ev.get(k) is not None))
        for artifact in job.artifacts.all():
            self.stdout.write(f"  {artifact.filename}  {artifact.size_bytes} bytes  sha256 {artifact.sha256[:12]}…")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _missing(what: str, pk: int) -> Any:
    raise CommandError(f"No {what} with id {pk}.")
