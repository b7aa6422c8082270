"""A preset fitted to data no one here wrote (scikit-learn's own datasets, news headlines),
trained with the default hyperparameters, comes close to a scikit-learn baseline on the
same split, in both frameworks.

The datasets go through the real ingestion (so a regression target is standardised as a
user's would be) and the jobs through a real worker. Only the device is set; everything
else, the seed included, is a default.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import datasets
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score

from builder.datasets.arrays import load_ids, load_split
from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options
from builder.models import Dataset
from builder.spec.presets import fit_preset
from tests.support.news_topics import news_topics_csv
from tests.workers.helpers import wait_status
from workers.models import TrainingJob
from workers.services import submit_job

# The quality of a preset does not depend on the database or broker that stored the job.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]

# Training seeds to run (the default 0 alone in the suite). The margins below come from running
# QUALITY_SEEDS=0,1,2,3,4 and reading the printed figures (docs/training.md has them).
SEEDS = [int(s) for s in os.environ.get("QUALITY_SEEDS", "0").split(",")]

# name: (loader, task, how far below the baseline the job may land). Every split is the default:
# under 2,000 rows that is 60/20/20 (builder.datasets.split.default_split). On 442 rows 80/10/10
# left 44 test rows, where the R² of one job moved by about 0.05 with the seed alone (8 seeds of
# each framework: 0.06-0.24 with Ridge at 0.155), and 44 validation rows, where early stopping
# picked its epoch on noise; with 88 of each, 0.33-0.40 against Ridge's 0.333 (docs/training.md).
# Iris's 30 test rows make one misclassified flower 0.033.
DATASETS: dict[str, tuple[Any, str, float]] = {
    "iris": (datasets.load_iris, "classification", 0.05),
    "digits": (datasets.load_digits, "classification", 0.03),
    "diabetes": (datasets.load_diabetes, "regression", 0.03),
}


def ingest(owner: Any, name: str, kind: str, source: Path, options: dict[str, Any]) -> tuple[Dataset, Any]:
    """The file ingested the way an upload is: the ready Dataset, and the ingestion's result."""
    ds = Dataset.objects.create(owner=owner, name=name, kind=kind, status=Dataset.Status.PROCESSING, sha256="0" * 64)
    result = materialise(kind, source, validate_options(kind, options), ds.version_dir, Limits())
    ds.status, ds.task, ds.input_shape = Dataset.Status.READY, result.task, result.input_shape
    ds.class_names, ds.num_classes = result.class_names, result.num_classes
    ds.save()
    return ds, result


def table_dataset(owner: Any, name: str, tmp_path: Path) -> Dataset:
    """The scikit-learn dataset as a CSV, ingested the way an upload is."""
    loader, task, _ = DATASETS[name]
    bunch = loader()
    source = tmp_path / f"{name}.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"f{i}" for i in range(bunch.data.shape[1])] + ["target"])
        for row, target in zip(bunch.data, bunch.target, strict=True):
            label = f"{target:g}" if task == "regression" else f"class_{target}"
            writer.writerow([*(f"{v:.6g}" for v in row), label])
    return ingest(owner, name, "tabular", source, {"target_column": "target", "task": task})[0]


def baseline(ds: Dataset) -> float:
    """Logistic regression (accuracy) or ridge regression (R²), on the same preprocessed split."""
    X_train, y_train = (np.asarray(a) for a in load_split(ds.version_dir, "train"))
    X_test, y_test = (np.asarray(a) for a in load_split(ds.version_dir, "test"))
    if ds.task == "regression":
        return float(r2_score(y_test, Ridge(alpha=1.0).fit(X_train, y_train).predict(X_test)))
    model = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    return float(accuracy_score(y_test, model.predict(X_test)))


def defaults(seed: int) -> dict[str, Any]:
    """Only the device, and the seed when it is not the default."""
    return {"device": "cpu", **({"seed": seed} if seed else {})}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_the_mlp_preset_with_default_settings_comes_close_to_scikit_learn(trainer_without_export, alice, tmp_path,
                                                                         framework, name, seed):  # fmt: skip
    ds = table_dataset(alice, name, tmp_path)
    _, task, margin = DATASETS[name]
    outputs = 1 if task == "regression" else len(ds.class_names)
    spec = fit_preset("mlp", input_shape=ds.input_shape, task=task, n_outputs=outputs)
    job = submit_job(alice, spec=spec, dataset=ds, framework=framework, hyperparameters=defaults(seed))
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=trainer_without_export)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    score = job.evaluation["r2"] if task == "regression" else job.evaluation["accuracy"]
    reference = baseline(ds)
    epochs = job.metrics.count()
    trained = sum(m.values["epoch_seconds"] for m in job.metrics.all())
    took = (job.finished_at - job.started_at).total_seconds()
    print(f"\n{framework} {name} seed {seed}: {score:.3f} against scikit-learn {reference:.3f} ({epochs} epochs, "
          f"{trained:.1f} s training of {took:.1f} s)")  # fmt: skip
    assert score >= reference - margin, (score, reference, epochs)


# name: (the CSV, how far below the baseline the job may land), on the default split (60/20/20:
# 1,110 rows; the margin is over the worst of five seeds, torch's seed 3, 0.032 under). The news
# headlines: four topics of unequal size (majority 0.45), the labels taken
# from the outlets' sections, which overlap (politics and world).
TEXT_SETS: dict[str, tuple[Any, float]] = {
    "news_topics": (news_topics_csv, 0.035),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(TEXT_SETS))
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_the_text_preset_with_default_settings_comes_close_to_tf_idf_and_logistic_regression(
    trainer_without_export, alice, tmp_path, framework, name, seed
):
    make_csv, margin = TEXT_SETS[name]
    source = tmp_path / f"{name}.csv"
    source.write_bytes(make_csv())
    ds, result = ingest(alice, name, "text", source, {"text_column": "text", "label_column": "label"})
    vocabulary = len(result.preprocessing["text"]["vocabulary"])
    spec = fit_preset(
        "text_fasttext", input_shape=ds.input_shape, task="classification", n_outputs=len(ds.class_names),
        vocab_size=vocabulary,
    )
    job = submit_job(alice, spec=spec, dataset=ds, framework=framework, hyperparameters=defaults(seed))
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=trainer_without_export)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error

    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = {split: [rows[i]["text"] for i in load_ids(ds.version_dir, split)] for split in ("train", "test")}
    labels = {split: [rows[i]["label"] for i in load_ids(ds.version_dir, split)] for split in ("train", "test")}
    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    reference = LogisticRegression(max_iter=2000).fit(tfidf.fit_transform(texts["train"]), labels["train"])
    baseline_accuracy = accuracy_score(labels["test"], reference.predict(tfidf.transform(texts["test"])))
    score = job.evaluation["accuracy"]
    print(f"\n{framework} {name} seed {seed}: {score:.3f} against TF-IDF + logistic regression {baseline_accuracy:.3f} "
          f"({job.metrics.count()} epochs, {len(labels['test'])} test rows)")  # fmt: skip
    assert score >= baseline_accuracy - margin, (score, baseline_accuracy)
