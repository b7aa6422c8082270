"""Parameter counts match models published outside this project."""

from __future__ import annotations

import pytest

from builder.spec import validate_spec
from builder.spec.presets import ground_truth


@pytest.mark.parametrize(
    ("name", "expected"), [("mnist_convnet", 34_826), ("lenet5", 61_706), ("mlp_784_500_10", 397_510)]
)
def test_published_parameter_counts(name: str, expected: int) -> None:
    spec, published = ground_truth()[name]
    assert published == expected
    report = validate_spec(spec)
    assert report.ok, report.errors
    assert report.total_params == expected
    assert report.non_trainable_params == 0


def test_mnist_convnet_layer_table() -> None:
    report = validate_spec(ground_truth()["mnist_convnet"][0])
    table = [(r.id, r.output_shape, r.trainable_params) for r in report.layers]
    # As printed by model.summary() in the Keras example.
    assert table == [
        ("conv1", (26, 26, 32), 320),
        ("pool1", (13, 13, 32), 0),
        ("conv2", (11, 11, 64), 18_496),
        ("pool2", (5, 5, 64), 0),
        ("flat", (1600,), 0),
        ("drop", (1600,), 0),
        ("out", (10,), 16_010),
    ]
