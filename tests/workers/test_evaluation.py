"""The evaluation's numbers are scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
    r2_score,
)

from workers.training.evaluation import evaluate


def test_classification_matches_scikit_learn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 300)
    y[:5] = 3  # make class 2 rare so that zero-division paths run
    logits = rng.normal(size=(300, 4)) + np.eye(4)[y] * 1.5
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    probs[:, 2] *= 0.01
    probs /= probs.sum(1, keepdims=True)
    ids = np.arange(300) + 7000
    result = evaluate("classification", y, probs, "softmax", ["a", "b", "c", "d"], ids)
    pred = probs.argmax(1)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=[0, 1, 2, 3], zero_division=0)
    for i, row in enumerate(result["per_class"]):
        assert row["precision"] == pytest.approx(p[i]) and row["recall"] == pytest.approx(r[i])
        assert row["f1"] == pytest.approx(f[i]) and row["support"] == s[i]
    assert result["confusion_matrix"] == confusion_matrix(y, pred, labels=[0, 1, 2, 3]).tolist()
    assert result["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert result["loss"] == pytest.approx(log_loss(y, probs, labels=[0, 1, 2, 3]), rel=1e-6)
    assert result["class_names"] == ["a", "b", "c", "d"]
    worst = result["worst_misclassified"]
    assert worst and all(w["true"] != w["predicted"] for w in worst)
    assert [w["p_true"] for w in worst] == sorted(w["p_true"] for w in worst)
    assert all(w["id"] >= 7000 for w in worst)


def test_sigmoid_and_logit_outputs_become_probabilities():
    y = np.array([0, 1, 1, 0])
    sig = evaluate("classification", y, np.array([[0.2], [0.9], [0.4], [0.1]]), "sigmoid", ["no", "yes"], None)
    assert sig["accuracy"] == 0.75 and sig["confusion_matrix"] == [[2, 0], [1, 1]]
    logits = evaluate("classification", y, np.array([[2.0, 0], [0, 3], [1, 0], [5, 0]]), "linear", [], None)
    assert logits["accuracy"] == 0.75 and logits["class_names"] == ["0", "1"]


def test_regression_matches_scikit_learn():
    rng = np.random.default_rng(4)
    y = rng.normal(size=200)
    pred = y + rng.normal(scale=0.3, size=200)
    result = evaluate("regression", y, pred.reshape(-1, 1), "linear", [], np.arange(200))
    assert result["mae"] == pytest.approx(mean_absolute_error(y, pred))
    assert result["rmse"] == pytest.approx(mean_squared_error(y, pred) ** 0.5)
    assert result["r2"] == pytest.approx(r2_score(y, pred))
    assert result["residuals"][0]["residual"] == pytest.approx(y[0] - pred[0])
    assert sum(result["residual_histogram"]["counts"]) == 200


def test_macro_f1_and_per_class_figures_equal_scikit_learns_with_classes_never_predicted_or_present():
    rng = np.random.default_rng(11)
    names = ["a", "b", "c", "d", "e"]
    y = rng.choice([0, 1, 2, 3], size=400, p=[0.5, 0.3, 0.15, 0.05])  # class "e" is never present
    probs = rng.dirichlet(np.ones(5), size=400)
    probs[np.arange(400), y] += rng.uniform(0, 1.5, size=400)  # mostly right, sometimes wrong
    probs[:, 3:] *= 1e-3  # class "d" is present but never predicted
    probs[:5, 4] = 50.0  # class "e" is predicted five times, always wrongly
    probs /= probs.sum(1, keepdims=True)
    result = evaluate("classification", y, probs, "softmax", names, None)
    pred = probs.argmax(1)
    assert 3 not in pred and 4 not in y and np.count_nonzero(pred == 4) == 5
    labels = list(range(5))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    for i, row in enumerate(result["per_class"]):
        assert row["class"] == names[i]
        assert abs(row["precision"] - p[i]) <= 1e-9 and abs(row["recall"] - r[i]) <= 1e-9
        assert abs(row["f1"] - f[i]) <= 1e-9 and row["support"] == s[i]
    assert abs(result["macro_f1"] - f1_score(y, pred, labels=labels, average="macro", zero_division=0)) <= 1e-9
    assert result["per_class"][3]["f1"] == 0 and result["per_class"][4]["support"] == 0
