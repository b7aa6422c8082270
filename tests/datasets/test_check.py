"""Checking an architecture against a dataset's shapes, with the fix in the message."""

from __future__ import annotations

from builder.datasets.check import check_against_dataset


def spec(input_shape, units, activation="softmax", flatten=True):
    layers = [{"id": "flat", "type": "Flatten"}] if flatten else []
    layers.append({"id": "out", "type": "Dense", "params": {"units": units, "activation": activation}})
    return {"format": 1, "name": "t", "input": {"shape": input_shape}, "layers": layers}


IMAGES = {"input_shape": [28, 28, 1], "task": "classification", "num_classes": 3}


def test_a_fitting_architecture_has_no_errors():
    assert check_against_dataset(spec([28, 28, 1], 3), IMAGES) == []


def test_wrong_number_of_units():
    errors = check_against_dataset(spec([28, 28, 1], 5), IMAGES)
    assert errors == ["The last Dense has 5 units but the dataset has 3 classes. Set its units to 3."]


def test_wrong_input_shape():
    errors = check_against_dataset(spec([32, 32, 3], 3), IMAGES)
    assert errors == [
        "The dataset's input is 28x28x1 but the architecture expects 32x32x3. Set the architecture's input shape to [28, 28, 1]."
    ]


def test_regression_needs_one_linear_output():
    table = {"input_shape": [4], "task": "regression", "num_classes": None}
    errors = check_against_dataset(spec([4], 2, "softmax", flatten=False), table)
    assert "Set its units to 1" in errors[0] and "linear" in errors[1]
    assert check_against_dataset(spec([4], 1, "linear", flatten=False), table) == []


def test_binary_classification_may_use_one_sigmoid_unit():
    binary = {"input_shape": [4], "task": "classification", "num_classes": 2}
    assert check_against_dataset(spec([4], 1, "sigmoid", flatten=False), binary) == []


def test_a_dataset_not_ready_yet():
    assert "not ready" in check_against_dataset(spec([4], 1), {"input_shape": [], "task": "", "num_classes": None})[0]
