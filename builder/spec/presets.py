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
        "LeNet-5 (LeCun et al., 1998) for 32x32 grey images: the classic for digits and other small grey shapes.",
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
    "text_transformer": _spec(
        "text-transformer",
        [40],
        [
            _layer("embed", "PositionalEmbedding", input_dim=5000, output_dim=64),
            _layer("attn", "MultiHeadAttention", num_heads=4, key_dim=16),
            _layer("attn_drop", "Dropout", rate=0.1),
            _layer("add1", "Add", inputs=["embed", "attn_drop"]),
            _layer("norm1", "LayerNormalization", epsilon=1e-6),
            _layer("ff1", "Dense", units=128, activation="relu"),
            _layer("ff2", "Dense", units=64),
            _layer("ff_drop", "Dropout", rate=0.1),
            _layer("add2", "Add", inputs=["norm1", "ff_drop"]),
            _layer("norm2", "LayerNormalization", epsilon=1e-6),
            _layer("gap", "GlobalAveragePooling1D"),
            _layer("drop", "Dropout", rate=0.2),
            _layer("out", "Dense", units=2, activation="softmax"),
        ],
        "Text classifier with one Transformer encoder block (Vaswani et al., 2017): word and position "
        "embeddings, 4-head self-attention and a feed-forward layer, each with a residual Add and "
        "LayerNormalization, averaged over the text. Reads word order and context: for thousands to tens of "
        "thousands of texts or more; on small text sets start with text_fasttext. Padding is not masked. "
        "As shown: 40 token ids, 5,000 words, 2 classes.",
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


def ground_truth() -> dict[str, tuple[dict[str, Any], int]]:
    """Name -> (spec, published parameter count) for models described outside this project."""
    return copy.deepcopy(_GROUND_TRUTH)


# --- fitting a preset to a dataset ---------------------------------------------------------

# Which presets suit which input: "vector" (one vector of numbers), "grid" (height, width,
# channels) and "tokens" (a sequence of token ids with a known vocabulary). A dataset kind
# decides nothing here: its data's shape (and vocabulary) picks the form.
_APPLIES: dict[str, frozenset[str]] = {
    "mlp": frozenset({"vector", "grid"}),
    "small_cnn": frozenset({"grid"}),
    "lenet5": frozenset({"grid"}),
    "residual_cnn": frozenset({"grid"}),
    "text_lstm": frozenset({"tokens"}),
    "text_fasttext": frozenset({"tokens"}),
    "text_transformer": frozenset({"tokens"}),
}
# How a refusal names the data's form (the words the messages used before forms had names).
_FORM_WORDS = {"vector": "table", "grid": "image", "tokens": "text"}
# Below this side length a CNN preset's "valid" windows would shrink the image to nothing.
_FULL_SIZE = 32


_FITTED_DESCRIPTIONS = {
    "mlp": "Multi-layer perceptron (two hidden layers)",
    "small_cnn": "Small convolutional network",
    "lenet5": "LeNet-5 (LeCun et al., 1998)",
    "residual_cnn": "Residual network with two blocks (identity and projection shortcuts)",
    "text_lstm": "Text classifier: word embeddings and an LSTM",
    "text_fasttext": "Text classifier: word embeddings averaged over the text (fastText-style)",
    "text_transformer": "Text classifier: word and position embeddings and a Transformer encoder block",
}


class PresetError(ValueError):
    """A preset that does not exist, or does not apply to the data described."""


def input_form(input_shape: list[int] | tuple[int, ...], vocab_size: int | None = None) -> str:
    """The input's form, "tokens", "vector" or "grid", from its rank and whether it holds token ids."""
    if vocab_size is not None and len(input_shape) == 1:
        return "tokens"
    if len(input_shape) == 1:
        return "vector"
    if len(input_shape) == 3:
        return "grid"
    return "other"


def output_head(task: str, n_outputs: int) -> dict[str, Any]:
    """The last Dense layer's params for a task, matching how the training loss is chosen:
    softmax over the classes, one sigmoid unit for two classes, one linear unit for regression."""
    if task == "regression":
        return {"units": 1, "activation": "linear"}
    if task != "classification":
        raise PresetError(f"task must be 'classification' or 'regression', not {task!r}.")
    if n_outputs < 2:
        raise PresetError(f"a classification needs at least 2 classes, not {n_outputs}.")
    if n_outputs == 2:
        return {"units": 1, "activation": "sigmoid"}
    return {"units": n_outputs, "activation": "softmax"}


_NOUNS = {"vector": "features", "grid": "images"}


def _describe_data(input_shape: list[int], form: str, task: str, n_outputs: int, noun: str | None) -> str:
    if form == "tokens":
        data = f"sequences of {input_shape[0]} token ids"
    elif form == "vector":
        data = f"{input_shape[0]} {noun or _NOUNS[form]}"
    else:
        data = "x".join(str(d) for d in input_shape) + f" {noun or _NOUNS['grid']}"
    target = "one number" if task == "regression" else f"{n_outputs} classes"
    return f"{data} → {target}"


def _window(size: Any, side: list[int]) -> Any:
    """A window no larger than what is left of the image (an int stays an int when it fits)."""
    pair = size if isinstance(size, list) else [size, size]
    fitted = [min(k, s) for k, s in zip(pair, side, strict=True)]
    return size if fitted == pair else fitted


def _fit_image_layers(name: str, layers: list[dict[str, Any]], height: int, width: int) -> list[dict[str, Any]]:
    """Keep every window inside the image: small images get "same" padding and windows no
    larger than what is left, and LeNet's last convolution covers the rest (1x1, as in the paper)."""
    if min(height, width) >= _FULL_SIZE:
        return layers
    side = [height, width]
    shapes: dict[str, list[int]] = {}
    previous = "input"
    for layer in layers:
        params = layer.setdefault("params", {})
        inputs = layer.get("inputs") or [previous]
        side = list(shapes.get(inputs[0], [height, width]))
        if layer["type"] in ("MaxPooling2D", "AveragePooling2D"):
            params["pool_size"] = _window(params.get("pool_size", 2), side)
            params["padding"] = "same"
            pool = params["pool_size"] if isinstance(params["pool_size"], list) else [params["pool_size"]] * 2
            side = [-(-s // p) for s, p in zip(side, pool, strict=True)]
        elif layer["type"] == "Conv2D":
            params["kernel_size"] = _window(params["kernel_size"], side)
            if name == "lenet5" and layer["id"] == "c5":
                params["kernel_size"] = [min(5, side[0]), min(5, side[1])]
                side = [1, 1]
            else:
                params["padding"] = "same"
                stride = params.get("strides", 1)
                side = [-(-s // stride) for s in side]
        shapes[layer["id"]] = side
        previous = layer["id"]
    return layers


def fit_preset(
    name: str,
    *,
    input_shape: list[int] | tuple[int, ...],
    task: str,
    n_outputs: int,
    vocab_size: int | None = None,
    noun: str | None = None,
) -> dict[str, Any]:
    """The preset ``name`` with its input taken from the data and its head from the task.

    ``n_outputs`` is the class count (ignored for regression); ``vocab_size`` marks token
    ids (the Embedding reads that many); ``noun`` names the samples in the description
    ("spectrograms"; default "features" or "images"). Dataset kinds call this through
    DatasetKind.fit_preset. Raises PresetError naming the problem when the preset does not
    exist or does not suit the data.
    """
    if name not in _PRESETS:
        raise PresetError(f"There is no preset {name!r}; choose one of {', '.join(_PRESETS)}.")
    shape = [int(d) for d in input_shape]
    form = input_form(shape, vocab_size)
    if form not in _APPLIES[name]:
        suits = ", ".join(sorted(k for k, forms in _APPLIES.items() if form in forms)) or "none"
        what = _FORM_WORDS.get(form, form)
        raise PresetError(f"The preset {name!r} does not suit {what} data of shape {shape}; presets that do: {suits}.")
    spec = copy.deepcopy(_PRESETS[name])
    layers: list[dict[str, Any]] = spec["layers"]
    if form == "grid":
        layers = _fit_image_layers(name, layers, shape[0], shape[1])
        if name == "mlp":
            layers.insert(0, _layer("flatten", "Flatten"))
    if form == "tokens":
        layers[0]["params"]["input_dim"] = int(vocab_size or 0)
    layers[-1]["params"].update(output_head(task, n_outputs))
    spec["input"] = {"shape": shape}
    spec["layers"] = layers
    spec["description"] = (
        _FITTED_DESCRIPTIONS[name] + f", fitted to {_describe_data(shape, form, task, n_outputs, noun)}."
    )
    return spec


def fitting_presets(
    *,
    input_shape: list[int] | tuple[int, ...],
    task: str,
    n_outputs: int,
    vocab_size: int | None = None,
    noun: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Name -> fitted spec for every preset that suits the data."""
    form = input_form(list(input_shape), vocab_size)
    return {
        name: fit_preset(
            name, input_shape=input_shape, task=task, n_outputs=n_outputs, vocab_size=vocab_size, noun=noun
        )
        for name, forms in _APPLIES.items()
        if form in forms
    }
