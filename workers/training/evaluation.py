"""Evaluation on the held-out test split, from predictions (framework-neutral numpy).

The numbers follow scikit-learn's definitions (tests compare them): precision, recall and
F1 per class with 0 where a denominator is 0, a confusion matrix with true classes as rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from builder.codegen.scripts.heads import class_probabilities

WORST_COUNT = 20
RESIDUAL_SAMPLES = 500
EPS = 1e-7


def classification_report(
    y_true: np.ndarray, probs: np.ndarray, class_names: list[str], ids: np.ndarray | None = None
) -> dict[str, Any]:
    y = np.asarray(y_true).astype(np.int64).reshape(-1)
    n_classes = probs.shape[1]
    names = list(class_names) if len(class_names) == n_classes else [str(i) for i in range(n_classes)]
    pred = probs.argmax(axis=1)
    p_true = np.clip(probs[np.arange(len(y)), y], EPS, 1.0)
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (y, pred), 1)
    tp = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    actual = matrix.sum(axis=1).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    per_class = [
        {"class": names[i], "precision": float(precision[i]), "recall": float(recall[i]),
         "f1": float(f1[i]), "support": int(actual[i])}
        for i in range(n_classes)
    ]  # fmt: skip
    return {
        "task": "classification",
        "samples": int(len(y)),
        "loss": float(-np.log(p_true).mean()) if len(y) else None,
        "accuracy": float((pred == y).mean()) if len(y) else None,
        "macro_f1": float(f1.mean()),
        "per_class": per_class,
        "class_names": names,
        "confusion_matrix": matrix.tolist(),
        "worst_misclassified": worst_misclassified(y, pred, probs, names, ids),
    }


def worst_misclassified(
    y: np.ndarray, pred: np.ndarray, probs: np.ndarray, names: list[str], ids: np.ndarray | None
) -> list[dict[str, Any]]:
    """Wrong predictions, most confident first (lowest probability given to the true class)."""
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(probs[wrong, y[wrong]], kind="stable")][:WORST_COUNT]
    return [
        {"id": int(ids[i]) if ids is not None else int(i), "index": int(i), "true": names[y[i]],
         "predicted": names[pred[i]], "confidence": float(probs[i, pred[i]]), "p_true": float(probs[i, y[i]])}
        for i in order
    ]  # fmt: skip


def regression_report(y_true: np.ndarray, outputs: np.ndarray, ids: np.ndarray | None = None) -> dict[str, Any]:
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    pred = np.asarray(outputs, dtype=np.float64).reshape(-1)
    residuals = y - pred
    ss_res = float((residuals**2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    step = max(1, len(y) // RESIDUAL_SAMPLES)
    sample = np.arange(0, len(y), step)[:RESIDUAL_SAMPLES]
    counts, edges = np.histogram(residuals, bins=20) if len(y) else (np.array([]), np.array([]))
    return {
        "task": "regression",
        "samples": int(len(y)),
        "loss": float((residuals**2).mean()) if len(y) else None,
        "mae": float(np.abs(residuals).mean()) if len(y) else None,
        "rmse": float(np.sqrt((residuals**2).mean())) if len(y) else None,
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else None,
        "residuals": [
            {
                "id": int(ids[i]) if ids is not None else int(i),
                "true": float(y[i]),
                "predicted": float(pred[i]),
                "residual": float(residuals[i]),
            }
            for i in sample
        ],  # fmt: skip
        "residual_histogram": {"counts": counts.astype(int).tolist(), "edges": edges.tolist()},
    }


PREDICTIONS_FILE = "predictions.npz"


def save_predictions(folder: Path, task: str, outputs: np.ndarray, output_kind: str) -> Path:
    """Each test example's predicted class and its probability (classification), so the
    confusion matrix's cells can list their examples later without loading the model."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PREDICTIONS_FILE
    if task == "regression":
        np.savez(path, predicted=np.asarray(outputs, dtype=np.float32).reshape(-1))
    else:
        probs = class_probabilities(outputs, output_kind)
        pred = probs.argmax(axis=1)
        np.savez(path, predicted=pred.astype(np.int64), confidence=probs[np.arange(len(pred)), pred].astype(np.float32))
    return path


def evaluate(task: str, y_true: np.ndarray, outputs: np.ndarray, output_kind: str, class_names: list[str],
             ids: np.ndarray | None) -> dict[str, Any]:  # fmt: skip
    if task == "regression":
        return regression_report(y_true, outputs, ids)
    return classification_report(y_true, class_probabilities(outputs, output_kind), class_names, ids)
