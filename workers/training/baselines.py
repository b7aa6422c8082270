"""What simple models get on the job's own test rows, beside the model's evaluation.

Two baselines, fitted on the training split only and scored on the test split (the
validation split is not used): the majority class (the training labels' shares as
probabilities) or the training targets' mean, and a linear model — logistic regression
(classification) or ridge regression (regression) on the kind's baseline inputs, numbers
standardised, documents (text) as TF-IDF. Their figures come from the same functions as
the model's (evaluation.py), so they compare one to one.

The linear fit is capped by LAYERLOOM_BASELINE_MAX_VALUES (training rows x values per
row): past it, it is fitted on a seeded random subset of the training rows that fits, and
a sample wider than a hundredth of the cap (say 224x224 RGB pixels at the default) skips
it; either way a note says so.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import numpy as np
from django.conf import settings

from builder.datasets.arrays import load_split
from builder.datasets.kinds import kind_of
from workers.training.evaluation import classification_report, regression_report

log = logging.getLogger(__name__)

SEED = 0
MAX_ITER = 300  # lbfgs iterations: bounds the fit's time along with the size cap
MIN_ROWS = 100  # the narrowest subset worth fitting: fewer rows than this, and it is skipped
CLASSIFICATION_FIGURES = ("accuracy", "macro_f1", "loss")
REGRESSION_FIGURES = ("r2", "mae", "rmse", "loss")


def compute(ctx: Any, evaluation: dict[str, Any]) -> dict[str, Any]:
    """The evaluation's "baselines" entry for a job context (workers.training.context.JobContext)."""
    started = time.perf_counter()
    X_train, y_train = load_split(ctx.dataset_dir, "train", mmap=True)
    X_test, y_test = load_split(ctx.dataset_dir, "test", mmap=True)
    kind = kind_of(ctx.preprocessing())
    regression = not ctx.classification
    out: dict[str, Any] = {
        "samples": int(len(y_test)),
        "train_samples": int(len(y_train)),
        "metric": "r2" if regression else "accuracy",
        "models": [],
        "notes": [],
    }
    if regression:
        out["models"].append(mean_baseline(np.asarray(y_train, np.float64), np.asarray(y_test, np.float64)))
    else:
        n_classes = max(len(ctx.class_names), int(np.max(y_train, initial=0)) + 1, int(np.max(y_test, initial=0)) + 1)
        out["models"].append(majority_baseline(labels(y_train), labels(y_test), ctx.class_names, n_classes))
    linear, note = linear_baseline(kind, X_train, y_train, X_test, y_test, ctx.class_names, regression)
    out["models"].append(linear)
    if note:
        out["notes"].append(note)
    out["model_worse_than_linear"] = worse_than(evaluation, linear, out["metric"])
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def labels(y: np.ndarray) -> np.ndarray:
    """Class indices (a binary split stores 0.0 / 1.0 for the sigmoid loss)."""
    return np.asarray(y).astype(np.int64).reshape(-1)


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray, names: list[str], n_classes: int) -> dict[str, Any]:
    """Always the training split's most common class (the first of a tie), with the training
    shares as its probabilities (so its loss is the cross-entropy of the class prior)."""
    shares = np.bincount(y_train, minlength=n_classes).astype(np.float64) / max(1, len(y_train))
    report = classification_report(y_test, np.tile(shares, (len(y_test), 1)), names)
    label = report["class_names"][int(shares.argmax())]
    return {"name": "majority", "label": f"the most common class ({label})", "class": label,
            **pick(report, CLASSIFICATION_FIGURES)}  # fmt: skip


def mean_baseline(y_train: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    mean = float(y_train.mean()) if len(y_train) else 0.0
    report = regression_report(y_test, np.full(len(y_test), mean))
    return {"name": "mean", "label": "the training mean", "value": mean, **pick(report, REGRESSION_FIGURES)}


def linear_baseline(kind: Any, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                    names: list[str], regression: bool) -> tuple[dict[str, Any], str]:  # fmt: skip
    """(the linear model's entry, a note or ""): skipped or fitted on a subset past the cap."""
    model_name = "ridge regression" if regression else "logistic regression"
    entry: dict[str, Any] = {"name": "linear", "label": f"{model_name} on {kind.baseline_inputs_label}"}
    cap = int(settings.LAYERLOOM_BASELINE_MAX_VALUES)
    width = int(np.prod(X_train.shape[1:], dtype=np.int64))
    rows = len(X_train) if width == 0 else min(len(X_train), cap // width)
    if rows < min(MIN_ROWS, len(X_train)) or width > cap // MIN_ROWS:
        reason = f"each sample has {width:,} values, too many for the baseline's cap (LAYERLOOM_BASELINE_MAX_VALUES)"
        return {**entry, "skipped": reason}, f"The {model_name} baseline was skipped: {reason}."
    note = ""
    chosen = np.arange(len(X_train))
    if rows < len(X_train):
        chosen = np.sort(np.random.default_rng(SEED).choice(len(X_train), size=rows, replace=False))
        note = (f"The {model_name} baseline was fitted on {rows:,} of the {len(X_train):,} training rows "
                f"(LAYERLOOM_BASELINE_MAX_VALUES caps rows x values at {cap:,}).")  # fmt: skip
    train_y = np.asarray(y_train)[chosen]
    if not regression and len(np.unique(labels(train_y))) < 2:
        reason = "the training rows hold a single class"
        return {**entry, "skipped": reason}, f"The {model_name} baseline was skipped: {reason}."
    try:
        train_inputs = kind.baseline_inputs(np.asarray(X_train[chosen]))
        test_inputs = kind.baseline_inputs(np.asarray(X_test))
        pipeline = make_pipeline(train_inputs, regression)
        with warnings.catch_warnings():  # lbfgs stopping at MAX_ITER is the cap working, not news
            warnings.simplefilter("ignore")
            pipeline.fit(train_inputs, np.asarray(train_y, np.float64) if regression else labels(train_y))
        if regression:
            report = regression_report(np.asarray(y_test, np.float64), pipeline.predict(test_inputs))
            figures = pick(report, REGRESSION_FIGURES)
        else:
            n_classes = max(len(names), int(labels(y_test).max(initial=0)) + 1, int(pipeline.classes_.max()) + 1)
            probs = np.zeros((len(y_test), n_classes))
            probs[:, pipeline.classes_] = pipeline.predict_proba(test_inputs)  # classes it saw; 0 for the rest
            figures = pick(classification_report(labels(y_test), probs, names), CLASSIFICATION_FIGURES)
    except (ValueError, MemoryError) as exc:  # an empty vocabulary, a constant column: the job still succeeds
        log.warning("baseline %s not fitted", model_name, exc_info=True)
        return {**entry, "skipped": f"{type(exc).__name__}: {exc}"[:300]}, f"The {model_name} baseline failed: {exc}"
    return {**entry, "fitted_on": int(rows), **figures}, note


def preload() -> None:
    """Import scikit-learn's parts ahead (a standby child): seconds of a job's time otherwise
    (2.2 s measured on a busy 2-core machine)."""
    make_pipeline([], regression=False)


def make_pipeline(inputs: np.ndarray | list[str], regression: bool) -> Any:
    """Standardised numbers or TF-IDF documents, then ridge or logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # scikit-learn loads only in the training child
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline as chain
    from sklearn.preprocessing import StandardScaler

    features = (
        TfidfVectorizer(token_pattern=r"\S+", lowercase=False, sublinear_tf=True)
        if isinstance(inputs, list)
        else StandardScaler()
    )
    model = Ridge(alpha=1.0) if regression else LogisticRegression(max_iter=MAX_ITER, random_state=SEED)
    return chain(features, model)


def pick(report: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: report.get(key) for key in keys}


def worse_than(evaluation: dict[str, Any], linear: dict[str, Any], metric: str) -> bool | None:
    """Whether the model's headline figure is below the linear baseline's (None: either is missing)."""
    ours, theirs = evaluation.get(metric), linear.get(metric)
    if ours is None or theirs is None:
        return None
    return bool(ours < theirs)
