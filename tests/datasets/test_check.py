"""Checking an architecture against a dataset's shapes, with the fix in the message."""

from __future__ import annotations

from builder.datasets.check import Mismatch, check_against_dataset


def spec(input_shape, units, activation="softmax", flatten=True):
    layers = [{"id": "flat", "type": "Flatten"}] if flatten else []
    layers.append({"id": "out", "type": "Dense", "params": {"units": units, "activation": activation}})
    return {"format": 1, "name": "t", "input": {"shape": input_shape}, "layers": layers}


IMAGES = {"input_shape": [28, 28, 1], "task": "classification", "num_classes": 3}


def test_a_fitting_architecture_has_no_errors():
    assert check_against_dataset(spec([28, 28, 1], 3), IMAGES) == []


def test_wrong_number_of_units():
    errors = check_against_dataset(spec([28, 28, 1], 5), IMAGES)
    assert errors == [
        Mismatch("units", "The last Dense has 5 units but the dataset has 3 classes. Set its units to 3.")
    ]


def test_wrong_input_shape():
    errors = check_against_dataset(spec([32, 32, 3], 3), IMAGES)
    assert errors == [
        Mismatch(
            "input.shape",
            "The dataset's input is 28x28x1 but the architecture expects 32x32x3. "
            "Set the architecture's input shape to [28, 28, 1].",
        )
    ]


def test_regression_needs_one_linear_output():
    table = {"input_shape": [4], "task": "regression", "num_classes": None}
    errors = check_against_dataset(spec([4], 2, "softmax", flatten=False), table)
    assert [e.field for e in errors] == ["units", "activation"]
    assert "Set its units to 1" in errors[0].message and "linear" in errors[1].message
    assert check_against_dataset(spec([4], 1, "linear", flatten=False), table) == []


def test_many_classes_under_a_sigmoid_is_the_activation_to_change():
    ((field, message),) = check_against_dataset(spec([28, 28, 1], 3, "sigmoid"), IMAGES)
    assert field == "activation" and message.endswith("Use softmax for one class per sample.")


def test_binary_classification_may_use_one_sigmoid_unit():
    binary = {"input_shape": [4], "task": "classification", "num_classes": 2}
    assert check_against_dataset(spec([4], 1, "sigmoid", flatten=False), binary) == []


def test_a_dataset_not_ready_yet():
    ((field, message),) = check_against_dataset(spec([4], 1), {"input_shape": [], "task": "", "num_classes": None})
    assert field == "dataset" and "not ready" in message
