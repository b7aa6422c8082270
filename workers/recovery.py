"""The periodic check for runs whose process is gone: resume them, or end them with the reason.

A run is alive only while the very process that owns it is (workers.liveness): on the same
machine that is read from /proc at once; elsewhere the run's lease decides, the heartbeat its
owner writes every LAYERLOOM_HEARTBEAT_INTERVAL seconds, expired after
LAYERLOOM_HEARTBEAT_TIMEOUT. A dead run is sent again (it resumes from its last epoch
checkpoint) until LAYERLOOM_JOB_MAX_ATTEMPTS, cancelled if a cancel was asked, or failed
with a reason a person can act on (workers.lifecycle.recover).

The fair share's safety net lives here too (`dispatch_all`): a process that died between
ending a job and sending its owner's next one leaves that job waiting in the database, and
the periodic dispatch sends it; a job whose message the broker lost is sent again; estimates nobody polls are cancelled, and those whose worker
died are failed.
"""

from __future__ import annotations

import logging

from workers import estimates, lifecycle
from workers.models import TrainingJob

log = logging.getLogger(__name__)


def reap_stale_jobs() -> dict[str, list[int]]:
    done: dict[str, list[int]] = {"requeued": [], "failed": [], "cancelled": []}
    named = {TrainingJob.Status.QUEUED: "requeued", TrainingJob.Status.FAILED: "failed",
             TrainingJob.Status.CANCELLED: "cancelled"}  # fmt: skip
    for job in TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING).order_by("pk"):
        if not lifecycle.run_is_dead(job):
            continue
        status = lifecycle.recover(job, lifecycle.dead_run_description(job))
        if status is not None:
            done[named[status]].append(job.pk)
    if any(done.values()):
        log.warning("dead training runs: %s", done)
    return done


def dispatch_all() -> dict[str, list[int]]:
    done = {"jobs_sent": lifecycle.dispatch_waiting(), "jobs_resent": lifecycle.resend_lost()}
    done.update({f"estimates_{key}": ids for key, ids in estimates.reap().items()})
    if any(done.values()):
        log.warning("dispatched waiting work: %s", done)
    return done
