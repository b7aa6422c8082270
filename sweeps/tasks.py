"""Celery tasks of sweeps, on the default queue: ids in, the rows re-read, work in sweeps.scheduler.

Optuna is imported only when a task runs (the web process imports this module to send them)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sweeps.step", ignore_result=True)
def step(sweep_id: int) -> str:
    from sweeps import scheduler

    return scheduler.step(sweep_id)


@shared_task(name="sweeps.evaluate_winner", ignore_result=True)
def evaluate_winner(sweep_id: int) -> str:
    from sweeps import scheduler

    return scheduler.evaluate_winner(sweep_id)


@shared_task(name="sweeps.step_all", ignore_result=True)
def step_all() -> list[int]:
    from sweeps import scheduler

    return scheduler.step_all()
