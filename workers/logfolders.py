"""The folder a job's TensorBoard logs live under: one name per job, so that several jobs'
logs unpacked into one folder stay separate runs (the worker writes it, the web side zips it)."""

from __future__ import annotations

from django.utils.text import slugify

NAME_CHARS = 40  # of the dataset's name: keeps the folder readable in TensorBoard's run list


def job_log_folder(job_id: int, framework: str, dataset_name: str) -> str:
    """`job-42-keras-wine`: ASCII letters, digits and dashes only, whatever the dataset is called."""
    dataset = slugify(dataset_name)[:NAME_CHARS].strip("-_") or "dataset"
    return f"job-{job_id}-{slugify(framework) or 'model'}-{dataset}"
