"""Dry-run estimates as work of a kind: queued, one per user at a time, time-limited, polled.

    queued --claim--> running --end--> done | failed
    queued | running --abandon--> cancelled   (the client stopped polling)

An estimate is created by the web process (`submit`, after the job checks), waits in the
database for its owner's turn like a job (`dispatch`: one of a user's estimates is in the
broker or running at a time) and runs on a training worker (`run`), which starts the dry
run's child (workers.training.dryrun) and watches the row while it runs: a client that has not
polled for LAYERLOOM_ESTIMATE_ABANDON_SECONDS gets its estimate cancelled and the child
killed. The child is killed past LAYERLOOM_ESTIMATE_TIME_LIMIT too, and the estimate fails
saying so. Every transition is one conditional UPDATE on the state it expects.
"""

from __future__ import annotations

import logging
import os
import signal
import statistics
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from webapp.celery import app
from workers import liveness
from workers.hyperparameters import Hyperparameters
from workers.models import Estimate, TrainingJob
from workers.placement import queue_for

log = logging.getLogger(__name__)
Status = Estimate.Status
WATCH_SECONDS = 0.5  # how often a running estimate's row is read for a client that went away
DEFAULT_RETRY_AFTER = 10  # seconds, before a user has any finished estimate to go by
HISTORY_JOBS = 10  # the owner's finished jobs on a dataset that an estimate's likely epoch count reads
DEFAULT_PATIENCE = Hyperparameters.model_fields["patience"].default  # a job stored without the key had it


class TooManyEstimates(Exception):
    """The user has LAYERLOOM_MAX_ESTIMATES queued or running (the API answers 429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def submit(owner: Any, request: dict[str, Any], sizes: dict[str, Any]) -> Estimate:
    """Queue a checked dry run for the owner, or refuse at once when they have enough waiting."""
    limit = settings.LAYERLOOM_MAX_ESTIMATES
    with transaction.atomic():
        # Lock the owner's row so concurrent submissions count one at a time.
        get_user_model().objects.select_for_update().get(pk=owner.pk)
        active = Estimate.objects.filter(owner=owner, status__in=Estimate.ACTIVE).count()
        if active >= limit:
            wait = retry_after(owner, active)
            raise TooManyEstimates(
                f"You already have {active} estimates queued or running (the limit is {limit}; one runs at a "
                f"time). Poll those, or ask again in about {wait} seconds.", wait,
            )  # fmt: skip
        device = (request.get("hyperparameters") or {}).get("device", "auto")
        estimate = Estimate.objects.create(owner=owner, request=request, sizes=sizes, queue=queue_for(device))
        transaction.on_commit(lambda: dispatch(owner.pk))
    return estimate


def epoch_plan(owner: Any, dataset: Any, hp: Any) -> dict[str, Any]:
    """How many epochs a job of these settings is likely to train, for the estimate's range.

    Early stopping (hp.patience) usually ends a job before its budget (hp.epochs); how soon
    depends on the data and the model, so the likely count comes from the owner's own finished
    jobs on this dataset that had early stopping on (the median of the last HISTORY_JOBS of
    them: basis "history"). Without such a job it is the fewest epochs early stopping allows,
    patience + 1 (the first epoch sets the best validation loss; basis "patience"): a lower
    bound, not a forecast. Without early stopping every epoch runs (basis "budget").
    """
    budget, patience = int(hp.epochs), hp.patience
    plan: dict[str, Any] = {"epochs_budget": budget, "patience": patience, "history_jobs": 0}
    if patience is None:
        return {**plan, "epochs_early_stop": budget, "epochs_early_stop_basis": "budget"}
    earliest = min(budget, int(patience) + 1)
    finished = TrainingJob.objects.filter(owner=owner, dataset=dataset, status=TrainingJob.Status.SUCCEEDED)
    ran = [epoch for epoch, settings_ in finished.order_by("-finished_at", "-pk").values_list("epoch", "hyperparameters")[:100]
           if isinstance(settings_, dict) and settings_.get("patience", DEFAULT_PATIENCE) is not None and epoch]  # fmt: skip
    ran = ran[:HISTORY_JOBS]
    if not ran:
        return {**plan, "epochs_early_stop": earliest, "epochs_early_stop_basis": "patience"}
    likely = min(budget, max(earliest, round(statistics.median(ran))))
    return {**plan, "epochs_early_stop": likely, "epochs_early_stop_basis": "history", "history_jobs": len(ran)}


def answer(estimate: Estimate) -> dict[str, Any]:
    """A done estimate's answer: the dry run's measurements, the sizes and epoch plan taken at
    submission, and the whole job's time at both ends of the range. One asked for before
    estimates carried the plan gets it from its request's settings alone (no history read)."""
    out = {**estimate.answer, **estimate.sizes}
    if "epochs_budget" not in out:
        asked = estimate.request.get("hyperparameters", {})
        budget, patience = int(asked.get("epochs") or 1), asked.get("patience")
        out.update(epochs_budget=budget, patience=patience, history_jobs=0,
                   epochs_early_stop=budget if patience is None else min(budget, int(patience) + 1),
                   epochs_early_stop_basis="budget" if patience is None else "patience")  # fmt: skip
    per_epoch = float(out["seconds_per_epoch"])
    out["seconds_early_stop"] = per_epoch * out["epochs_early_stop"]
    out["seconds_budget"] = per_epoch * out["epochs_budget"]
    return out


def retry_after(owner: Any, active: int) -> int:
    """Seconds until a slot is likely free: the owner's recent dry runs' mean length, per one waiting."""
    recent = Estimate.objects.filter(owner=owner, status=Status.DONE, started_at__isnull=False).order_by("-pk")[:5]
    lengths = [(e.finished_at - e.started_at).total_seconds() for e in recent if e.finished_at]
    each = sum(lengths) / len(lengths) if lengths else DEFAULT_RETRY_AFTER
    return max(1, min(settings.LAYERLOOM_ESTIMATE_TIME_LIMIT, round(each * max(1, active - 1) + 0.5)))


def polled(estimate: Estimate) -> None:
    """The client asked about it: it is still wanted."""
    Estimate.objects.filter(pk=estimate.pk).update(polled_at=timezone.now())


def dispatch(owner_id: int) -> int | None:
    """Send the owner's oldest waiting estimate when none of theirs is in the broker or running.

    The same shape as the jobs' fair share (workers.lifecycle.dispatch), with one at a time:
    the mark and the message go in one transaction under the owner's row lock.
    """
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=owner_id).first()
        mine = Estimate.objects.filter(owner_id=owner_id, status__in=Estimate.ACTIVE)
        if mine.filter(dispatched_at__isnull=False).exists():
            return None
        estimate = mine.filter(status=Status.QUEUED).order_by("created", "pk").first()
        if estimate is None:
            return None
        Estimate.objects.filter(pk=estimate.pk).update(dispatched_at=timezone.now())
        try:
            app.send_task("workers.estimate_job", args=[estimate.pk], queue=estimate.queue)
        except (KombuError, OSError) as exc:
            log.error("estimate %s: the broker did not take it (%s); the periodic dispatch retries", estimate.pk, exc)
            transaction.set_rollback(True)
            return None
    return estimate.pk


def _abandoned_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.LAYERLOOM_ESTIMATE_ABANDON_SECONDS)


def _abandon_message() -> str:
    seconds = settings.LAYERLOOM_ESTIMATE_ABANDON_SECONDS
    return f"Cancelled: nobody polled this estimate for {seconds} seconds, so it was no longer wanted."


def _end(estimate_id: int, status: str, *, expect: tuple[str, ...], **fields: Any) -> bool:
    """expect -> status in one conditional UPDATE; the owner's next estimate goes when it did."""
    done = Estimate.objects.filter(pk=estimate_id, status__in=expect).update(
        status=status, finished_at=timezone.now(), **fields
    )
    if done:
        owner_id = Estimate.objects.filter(pk=estimate_id).values_list("owner_id", flat=True).first()
        if owner_id is not None:
            transaction.on_commit(lambda: dispatch(owner_id))
    return bool(done)


def claim(estimate_id: int) -> bool:
    """queued -> running, unless the client has gone (then cancelled) or it is taken or over."""
    stale = Estimate.objects.filter(pk=estimate_id, status=Status.QUEUED, polled_at__lt=_abandoned_before())
    if stale.exists():
        _end(estimate_id, Status.CANCELLED, expect=(Status.QUEUED,), error=_abandon_message())
        return False
    return bool(
        Estimate.objects.filter(pk=estimate_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=timezone.now(), run_owner=liveness.identity()
        )
    )


def run(estimate_id: int) -> str:
    """In a training worker: the dry run in its child, watched for a client that went away."""
    # Here, not at the top: training/ is the child's package; this only starts the child.
    from workers.training.dryrun import DryRunError, run_in_child

    if not claim(estimate_id):
        return "skipped"
    estimate = Estimate.objects.get(pk=estimate_id)
    outcome: dict[str, Any] = {}

    def dry_run() -> None:  # no database here: the watching thread owns the connection
        try:
            outcome["answer"] = run_in_child(estimate.request, timeout=settings.LAYERLOOM_ESTIMATE_TIME_LIMIT)
        except DryRunError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=dry_run, name=f"estimate-{estimate_id}", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(WATCH_SECONDS)
        if thread.is_alive() and _client_gone(estimate_id):
            _end(estimate_id, Status.CANCELLED, expect=(Status.RUNNING,), error=_abandon_message())
            _kill_dry_run_children()
            thread.join()
            return "cancelled"
    if "answer" in outcome:
        _end(estimate_id, Status.DONE, expect=(Status.RUNNING,), answer=outcome["answer"])
        return "done"
    _end(estimate_id, Status.FAILED, expect=(Status.RUNNING,), error=outcome.get("error", "The dry run failed."))
    return "failed"


def _client_gone(estimate_id: int) -> bool:
    row = Estimate.objects.filter(pk=estimate_id).values("status", "polled_at").first()
    return row is None or row["status"] != Status.RUNNING or row["polled_at"] < _abandoned_before()


def _kill_dry_run_children() -> None:
    """SIGKILL this process's dry-run children (not the standby children it also has)."""
    me = str(os.getpid())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError):
            continue
        if parent == me and b"workers.training.dryrun" in command:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def reap() -> dict[str, list[int]]:
    """Periodic: cancel estimates nobody polls, fail those whose worker died or overran, pass turns on."""
    done: dict[str, list[int]] = {"cancelled": [], "failed": [], "sent": []}
    # Queued ones only: a running one's worker watches it, and one whose worker died fails below.
    for estimate in Estimate.objects.filter(status=Status.QUEUED, polled_at__lt=_abandoned_before()):
        if _end(estimate.pk, Status.CANCELLED, expect=(Status.QUEUED,), error=_abandon_message()):
            done["cancelled"].append(estimate.pk)
    overran = timezone.now() - timedelta(seconds=settings.LAYERLOOM_ESTIMATE_TIME_LIMIT + 60)
    for estimate in Estimate.objects.filter(status=Status.RUNNING):
        dead = liveness.is_alive(estimate.run_owner) is False
        if (dead or (estimate.started_at and estimate.started_at < overran)) and _end(
            estimate.pk, Status.FAILED, expect=(Status.RUNNING,),
            error="The worker running this dry run stopped before it answered; ask for the estimate again.",
        ):  # fmt: skip
            done["failed"].append(estimate.pk)
    owners = Estimate.objects.filter(status=Status.QUEUED, dispatched_at__isnull=True).values_list(
        "owner_id", flat=True
    )
    for owner_id in sorted(set(owners)):
        if (sent := dispatch(owner_id)) is not None:
            done["sent"].append(sent)
    return done
