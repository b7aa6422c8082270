"""The evaluation's baselines (workers/training/baselines.py) as sentences a person reads:
the job page, the compare page and the bundle's README say them the same way."""

from __future__ import annotations

from typing import Any

FIGURES = {"accuracy": "accuracy", "macro_f1": "macro F1", "r2": "R²", "mae": "MAE", "rmse": "RMSE"}
SHOWN = {"classification": ("accuracy", "macro_f1"), "regression": ("r2", "mae", "rmse")}
SUGGESTION = (
    "Try more epochs, a smaller learning rate, the fitted preset for this dataset, or more data; "
    "a linear model that does better means the network has not yet learned what the inputs plainly hold."
)


def number(value: Any) -> str:
    """Four significant digits, as the page's metric filter shows them."""
    return "—" if value is None else f"{float(value):.4g}"


def lines(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """One {"name", "text"} per baseline: "Ridge regression on the standardised inputs, on the same
    44 test rows: R² 0.18, MAE 41.2, RMSE 52.1" (or why it was skipped)."""
    baselines = evaluation.get("baselines") or {}
    task = "regression" if evaluation.get("task") == "regression" else "classification"
    rows = f"{int(baselines.get('samples') or 0):,} test rows"
    out = []
    for model in baselines.get("models") or []:
        label = str(model.get("label") or model.get("name"))
        label = label[:1].upper() + label[1:]
        if model.get("skipped"):
            text = f"{label}: skipped ({model['skipped']})"
        else:
            figures = ", ".join(f"{FIGURES[key]} {number(model.get(key))}" for key in SHOWN[task])
            text = f"{label}, on the same {rows}: {figures}"
        out.append({"name": model.get("name", ""), "text": text})
    return out


def model_line(evaluation: dict[str, Any]) -> str:
    """The model's own figures: "accuracy 0.9333, macro F1 0.9327"."""
    task = "regression" if evaluation.get("task") == "regression" else "classification"
    return ", ".join(f"{FIGURES[key]} {number(evaluation.get(key))}" for key in SHOWN[task])


def markdown(evaluation: dict[str, Any]) -> str:
    """The bundle README's section: the model's test figures, then the baselines beside them."""
    if not evaluation:
        return ""
    out = ["## How good it is", "",
           f"On the job's {int(evaluation.get('samples') or 0):,} held-out test rows: {model_line(evaluation)}."]  # fmt: skip
    baselines = lines(evaluation)
    if baselines:
        out += ["", "Simple models fitted on the training split and scored on the same test rows:", ""]
        out += [f"- {line['text']}" for line in baselines]
    out += [f"\n{note}" for note in (evaluation.get("baselines") or {}).get("notes") or []]
    if worse := verdict(evaluation):
        out += ["", f"**{worse}** {SUGGESTION}"]
    return "\n".join(out) + "\n\n"


def linear(evaluation: dict[str, Any]) -> dict[str, Any]:
    models = (evaluation.get("baselines") or {}).get("models") or []
    return next((m for m in models if m.get("name") == "linear"), {})


def verdict(evaluation: dict[str, Any]) -> str:
    """A plain sentence when the model does worse than the linear baseline; "" otherwise."""
    baselines = evaluation.get("baselines") or {}
    if not baselines.get("model_worse_than_linear"):
        return ""
    metric = baselines.get("metric") or "accuracy"
    name = FIGURES.get(metric, metric)
    model = linear(evaluation)
    return (
        f"This model does worse than the linear baseline: {name} {number(evaluation.get(metric))} against "
        f"{number(model.get(metric))} for {model.get('label', 'the linear model')} on the same rows."
    )


def compare_figures(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The compare page's rows: each baseline's headline figure ("baseline: logistic regression ...: accuracy")."""
    baselines = evaluation.get("baselines") or {}
    metric = baselines.get("metric")
    out: dict[str, Any] = {}
    for model in baselines.get("models") or []:
        if metric and not model.get("skipped"):
            out[f"baseline {model.get('name')}: {metric}"] = model.get(metric)
    return out
