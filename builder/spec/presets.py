"""Architectures a person can start from, and published models to test counts against."""

from __future__ import annotations

import copy
from typing import Any


def _layer(layer_id: str, layer_type: str, inputs: list[str] | None = None, **params: Any) -> dict[str, Any]:
    layer: dict[str, Any] = {"id": layer_id, "type": layer_type}
    if params:
        layer["params"] = params
    if inputs is not None:
        layer["inputs"] = inputs
    return layer


def _spec(name: str, shape: list[int], layers: list[dict[str, Any]], description: str) -> dict[str, Any]:
    return {"format": 1, "name": name, "description": description, "input": {"shape": shape}, "layers": layers}


_PRESETS: dict[str, dict[str, Any]] = {
    "mlp": _spec(
        "mlp",
        [16],
        [
            _layer("hidden1", "Dense", units=64, activation="relu"),
            _layer("drop1", "Dropout", rate=0.2),
            _layer("hidden2", "Dense", units=32, activation="relu"),
            _layer("out", "Dense", units=3, activation="softmax"),
        ],
        "Multi-layer perceptron (64 and 32 units, dropout) for tables: the default for tabular data, "
        "classification or regression, from a hundred rows up. As shown: 16 features, 3 classes.",
    ),
    "small_cnn": _spec(
        "small-cnn",
        [32, 32, 3],
        [
            _layer("conv1", "Conv2D", filters=16, kernel_size=3, padding="same", activation="relu"),
            _layer("bn1", "BatchNormalization"),
            _layer("pool1", "MaxPooling2D", pool_size=2),
            _layer("conv2", "Conv2D", filters=32, kernel_size=3, padding="same", activation="relu"),
            _layer("pool2", "MaxPooling2D", pool_size=2),
            _layer("gap", "GlobalAveragePooling2D"),
            _layer("out", "Dense", units=10, activation="softmax"),
        ],
        "Small convolutional network with batch normalization: a first choice for small, low-resolution image "
        "sets (hundreds to tens of thousands of images). As shown: 32x32 colour images, 10 classes.",
    ),
    "lenet5": _spec(
        "lenet-5",
        [32, 32, 1],
        [
            _layer("c1", "Conv2D", filters=6, kernel_size=5, activation="tanh"),
            _layer("s2", "AveragePooling2D", pool_size=2),
            _layer("c3", "Conv2D", filters=16, kernel_size=5, activation="tanh"),
            _layer("s4", "AveragePooling2D", pool_size=2),
            _layer("c5", "Conv2D", filters=120, kernel_size=5, activation="tanh"),
            _layer("flat", "Flatten"),
            _layer("f6", "Dense", units=84, activation="tanh"),
            _layer("out", "Dense", units=10, activation="softmax"),
        ],
        "LeNet-5 (LeCun et al., 1998) for 32x32 grey images: the classic for digits and other small grey "
        "shapes.",
    ),
    "residual_cnn": _spec(
        "residual-cnn",
        [32, 32, 3],
        [
            _layer("stem", "Conv2D", filters=16, kernel_size=3, padding="same", activation="relu"),
            _layer("block1_conv1", "Conv2D", filters=16, kernel_size=3, padding="same", activation="relu"),
            _layer("block1_conv2", "Conv2D", filters=16, kernel_size=3, padding="same"),
            _layer("block1_bn", "BatchNormalization"),
            _layer("block1_add", "Add", inputs=["stem", "block1_bn"]),
            _layer("block1_relu", "Activation", activation="relu"),
            _layer("pool", "MaxPooling2D", pool_size=2),
            _layer("block2_conv1", "Conv2D", filters=32, kernel_size=3, strides=2, padding="same", activation="relu"),
            _layer("block2_conv2", "Conv2D", filters=32, kernel_size=3, padding="same"),
            _layer("block2_shortcut", "Conv2D", inputs=["pool"], filters=32, kernel_size=1, strides=2),
            _layer("block2_add", "Add", inputs=["block2_shortcut", "block2_conv2"]),
            _layer("block2_relu", "Activation", activation="relu"),
            _layer("gap", "GlobalAveragePooling2D"),
            _layer("out", "Dense", units=10, activation="softmax"),
        ],
        "Residual network with two blocks (identity and projection shortcuts) for 32x32 colour images: "
        "deeper than small_cnn, for image sets of thousands of images or more.",
    ),
    "text_lstm": _spec(
        "text-lstm",
        [40],
        [
            _layer("embed", "Embedding", input_dim=5000, output_dim=32),
            _layer("lstm", "LSTM", units=32),
            _layer("drop", "Dropout", rate=0.3),
            _layer("out", "Dense", units=1, activation="sigmoid"),
        ],
        "Text classifier that reads word order (LSTM): for tens of thousands of texts or more, where order "
        "matters; on small text sets start with text_fasttext. As shown: 40 token ids, 5,000 words, binary label.",
    ),
    "text_fasttext": _spec(
        "text-fasttext",
        [40],
        [
            _layer("embed", "Embedding", input_dim=5000, output_dim=64),
            _layer("gap", "GlobalAveragePooling1D"),
            _layer("drop", "Dropout", rate=0.2),
            _layer("out", "Dense", units=2, activation="softmax"),
        ],
        "Text classifier that averages word embeddings over the text (fastText-style, Joulin et al., 2016): "
        "the default for text, strong on short texts and small data sets (hundreds to thousands of rows) and "
        "fast. As shown: 40 token ids, 5,000 words, 2 classes.",
    ),
}

_GROUND_TRUTH: dict[str, tuple[dict[str, Any], int]] = {
    # https://keras.io/examples/vision/mnist_convnet/ ("Total params: 34,826")
    "mnist_convnet": (
        _spec(
            "mnist-convnet",
            [28, 28, 1],
            [
                _layer("conv1", "Conv2D", filters=32, kernel_size=3, activation="relu"),
                _layer("pool1", "MaxPooling2D", pool_size=2),
                _layer("conv2", "Conv2D", filters=64, kernel_size=3, activation="relu"),
                _layer("pool2", "MaxPooling2D", pool_size=2),
                _layer("flat", "Flatten"),
                _layer("drop", "Dropout", rate=0.5),
                _layer("out", "Dense", units=10, activation="softmax"),
            ],
            "The Keras example 'simple MNIST convnet'.",
        ),
        34_826,
    ),
    "lenet5": (_PRESETS["lenet5"], 61_706),
    # 784*500 + 500 + 500*10 + 10
    "mlp_784_500_10": (
        _spec(
            "mlp-784-500-10",
            [784],
            [
                _layer("hidden", "Dense", units=500, activation="relu"),
                _layer("out", "Dense", units=10, activation="softmax"),
            ],
            "The classic 784-500-10 MLP for MNIST.",
        ),
        397_510,
    ),
}


def presets() -> dict[str, dict[str, Any]]:
    """Name -> full spec for every starting point (a fresh copy the caller may change)."""
    return copy.deepcopy(_PRESETS)


def fit_preset(
    name: str, input_shape: list[int] | tuple[int, ...], task: str, n_outputs: int, vocab_size: int | None = None
) -> dict[str, Any]:
    """A preset fitted to a dataset: its input shape, its vocabulary, an output head for its task.

    Classification with n classes ends in n softmax units; regression in n_outputs linear
    units (one target: 1). Embedding layers take the vocabulary size when one is given.
    """
    all_presets = presets()
    if name not in all_presets:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(sorted(all_presets))}")
    spec = all_presets[name]
    spec["input"]["shape"] = [int(v) for v in input_shape]
    for layer in spec["layers"]:
        if layer["type"] == "Embedding" and vocab_size:
            layer["params"]["input_dim"] = int(vocab_size)
    head = spec["layers"][-1]
    head["params"]["units"] = int(n_outputs)
    head["params"]["activation"] = "linear" if task == "regression" else "softmax"
    return spec


def ground_truth() -> dict[str, tuple[dict[str, Any], int]]:
    """Name -> (spec, published parameter count) for models described outside this project."""
    return copy.deepcopy(_GROUND_TRUTH)
