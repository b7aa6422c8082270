"""Small specs that exercise every registered layer type (and its variants) with tiny shapes."""

from __future__ import annotations

from typing import Any

from builder.spec.params import ACTIVATIONS


def spec(shape: list[int], *layers: dict[str, Any], name: str = "case") -> dict[str, Any]:
    return {"format": 1, "name": name, "input": {"shape": shape}, "layers": list(layers)}


def layer(layer_id: str, layer_type: str, inputs: list[str] | None = None, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"id": layer_id, "type": layer_type, "params": params}
    if inputs is not None:
        result["inputs"] = inputs
    return result


def bi(inner: str, units: int, return_sequences: bool = False, **params: Any) -> dict[str, Any]:
    wrapped = {"type": inner, "params": {"units": units, "return_sequences": return_sequences}}
    return layer("bi", "Bidirectional", layer=wrapped, **params)


LAYER_CASES: dict[str, list[dict[str, Any]]] = {
    "Dense": [
        spec([5], layer("fc", "Dense", units=3, activation="relu")),
        spec([4, 5], layer("fc", "Dense", units=3, use_bias=False)),
        spec([3, 3, 4], layer("fc", "Dense", units=2, activation="softmax")),
    ],
    "Dropout": [spec([3, 3, 2], layer("drop", "Dropout", rate=0.5), layer("fc", "Dense", units=2))],
    # Every activation side by side in one model (one build instead of ten).
    "Activation": [
        spec(
            [2, 2, 3],
            *[layer(f"act_{a}", "Activation", ["input"], activation=a) for a in ACTIVATIONS],
            layer("all", "Concatenate", [f"act_{a}" for a in ACTIVATIONS]),
        ),
        spec([4], layer("act", "Activation", activation="softmax")),
    ],
    "Flatten": [
        spec([3, 3, 2], layer("flat", "Flatten"), layer("fc", "Dense", units=4)),
        spec([4, 3], layer("flat", "Flatten")),
        spec([5], layer("flat", "Flatten")),
    ],
    "Reshape": [
        spec(
            [12],
            layer("to_image", "Reshape", target_shape=[2, 2, 3]),
            layer("conv", "Conv2D", filters=2, kernel_size=1),
            layer("to_vector", "Reshape", target_shape=[-1]),
        ),
        spec([2, 2, 3], layer("to_seq", "Reshape", target_shape=[4, 3]), layer("fc", "Dense", units=2)),
    ],
    "Embedding": [
        spec([6], layer("embed", "Embedding", input_dim=20, output_dim=4)),
        spec([6], layer("embed", "Embedding", input_dim=20, output_dim=4), layer("gap", "GlobalAveragePooling1D")),
    ],
    "PositionalEmbedding": [
        spec([6], layer("embed", "PositionalEmbedding", input_dim=20, output_dim=4)),
        spec([1], layer("embed", "PositionalEmbedding", input_dim=5, output_dim=3), layer("fc", "Dense", units=2)),
    ],
    "BatchNormalization": [
        spec([5], layer("bn", "BatchNormalization")),
        spec([4, 3], layer("bn", "BatchNormalization")),
        spec([3, 3, 2], layer("bn", "BatchNormalization", momentum=0.9, epsilon=0.01)),
    ],
    "LayerNormalization": [
        spec([5], layer("ln", "LayerNormalization")),
        spec([3, 3, 2], layer("ln", "LayerNormalization", epsilon=0.0001)),
    ],
    "Conv1D": [
        spec([8, 3], layer("conv", "Conv1D", filters=4, kernel_size=3, activation="relu")),
        spec([8, 3], layer("conv", "Conv1D", filters=2, kernel_size=3, strides=2, padding="same")),
        spec([8, 3], layer("conv", "Conv1D", filters=2, kernel_size=3, padding="same", use_bias=False)),
    ],
    "Conv2D": [
        spec([6, 6, 2], layer("conv", "Conv2D", filters=3, kernel_size=3, activation="tanh")),
        spec([6, 6, 2], layer("conv", "Conv2D", filters=3, kernel_size=3, strides=2, padding="same")),
        spec([5, 7, 2], layer("conv", "Conv2D", filters=2, kernel_size=[3, 2], strides=[1, 2], padding="same")),
        spec([4, 4, 2], layer("conv", "Conv2D", filters=2, kernel_size=2, use_bias=False)),
    ],
    "MaxPooling1D": [
        spec([7, 2], layer("pool", "MaxPooling1D")),
        spec([7, 2], layer("pool", "MaxPooling1D", pool_size=3, strides=1, padding="same")),
        spec([7, 2], layer("pool", "MaxPooling1D", pool_size=2, padding="same")),
    ],
    "MaxPooling2D": [
        spec([6, 6, 2], layer("pool", "MaxPooling2D")),
        spec([5, 5, 2], layer("pool", "MaxPooling2D", pool_size=2, padding="same")),
        spec([5, 5, 2], layer("pool", "MaxPooling2D", pool_size=3, strides=1, padding="same")),
    ],
    "AveragePooling2D": [
        spec([6, 6, 2], layer("pool", "AveragePooling2D", pool_size=[2, 3], strides=[2, 1])),
        spec([5, 5, 2], layer("pool", "AveragePooling2D", pool_size=2, padding="same")),
        spec([5, 5, 2], layer("pool", "AveragePooling2D", pool_size=3, strides=1, padding="same")),
    ],
    "GlobalAveragePooling1D": [spec([5, 3], layer("gap", "GlobalAveragePooling1D"))],
    "GlobalAveragePooling2D": [spec([4, 4, 3], layer("gap", "GlobalAveragePooling2D"))],
    "GlobalMaxPooling1D": [spec([5, 3], layer("gmp", "GlobalMaxPooling1D"))],
    "GlobalMaxPooling2D": [spec([4, 4, 3], layer("gmp", "GlobalMaxPooling2D"))],
    "SpatialDropout1D": [
        spec([6], layer("embed", "Embedding", input_dim=20, output_dim=4), layer("drop", "SpatialDropout1D", rate=0.3))
    ],
    "SpatialDropout2D": [spec([4, 4, 3], layer("drop", "SpatialDropout2D", rate=0.5), layer("fc", "Dense", units=2))],
    "UpSampling2D": [
        spec([3, 4, 2], layer("up", "UpSampling2D")),
        spec([3, 3, 2], layer("up", "UpSampling2D", size=[2, 3], interpolation="bilinear")),
    ],
    "Conv2DTranspose": [
        spec([3, 3, 2], layer("deconv", "Conv2DTranspose", filters=3, kernel_size=3, activation="relu")),
        spec([3, 4, 2], layer("deconv", "Conv2DTranspose", filters=2, kernel_size=3, strides=2, padding="same")),
        spec([3, 3, 2], layer("deconv", "Conv2DTranspose", filters=2, kernel_size=4, strides=2, padding="same")),
        spec([4, 3, 2], layer("deconv", "Conv2DTranspose", filters=2, kernel_size=[2, 3], strides=[2, 1],
                              padding="same", use_bias=False)),  # fmt: skip
    ],
    "RandomFlip": [
        spec([4, 5, 2], layer("flip", "RandomFlip"), layer("conv", "Conv2D", filters=2, kernel_size=1)),
        spec([4, 4, 1], layer("flip", "RandomFlip", mode="vertical")),
    ],
    "RandomRotation": [spec([5, 5, 3], layer("turn", "RandomRotation", factor=0.1))],
    "RandomZoom": [spec([5, 4, 1], layer("zoom", "RandomZoom", height_factor=0.2), layer("gap", "GlobalAveragePooling2D"))],
    "RandomContrast": [
        spec([4, 4, 3], layer("contrast", "RandomContrast", factor=0.3)),
        spec([4, 4, 1], layer("contrast", "RandomContrast", factor=0.5, value_range=[-1.0, 1.0])),
    ],
    "LSTM": [
        spec([5, 3], layer("lstm", "LSTM", units=4)),
        spec([5, 3], layer("lstm", "LSTM", units=4, return_sequences=True)),
    ],
    "GRU": [
        spec([5, 3], layer("gru", "GRU", units=4)),
        spec([5, 3], layer("gru", "GRU", units=4, return_sequences=True)),
    ],
    "Bidirectional": [
        spec([5, 3], bi("LSTM", 3)),
        spec([5, 3], bi("GRU", 3, return_sequences=True, merge_mode="sum")),
        spec([5, 3], bi("LSTM", 2, return_sequences=True, merge_mode="ave")),
        spec([5, 3], bi("GRU", 2, merge_mode="mul")),
    ],
    "MultiHeadAttention": [
        spec([5, 4], layer("attn", "MultiHeadAttention", num_heads=2, key_dim=2)),
        spec([5, 6], layer("attn", "MultiHeadAttention", num_heads=1, key_dim=6, dropout=0.2)),
        # An encoder block: attention, add & norm, feed-forward, add & norm.
        spec(
            [7],
            layer("embed", "PositionalEmbedding", input_dim=30, output_dim=8),
            layer("attn", "MultiHeadAttention", num_heads=4, key_dim=2, dropout=0.1),
            layer("add1", "Add", ["embed", "attn"]),
            layer("norm1", "LayerNormalization"),
            layer("ff1", "Dense", units=16, activation="relu"),
            layer("ff2", "Dense", units=8),
            layer("add2", "Add", ["norm1", "ff2"]),
            layer("norm2", "LayerNormalization"),
            layer("gap", "GlobalAveragePooling1D"),
        ),
    ],
    "Add": [
        spec(
            [4],
            layer("a", "Dense", units=3),
            layer("b", "Dense", ["input"], units=3),
            layer("c", "Dense", ["input"], units=3),
            layer("sum", "Add", ["a", "b", "c"]),
        ),
        spec(
            [4, 4, 2],
            layer("conv", "Conv2D", filters=2, kernel_size=3, padding="same"),
            layer("res", "Add", ["input", "conv"]),
        ),
    ],
    "Concatenate": [
        spec(
            [3, 3, 2],
            layer("a", "Conv2D", filters=2, kernel_size=1),
            layer("b", "Conv2D", ["input"], filters=3, kernel_size=1),
            layer("cat", "Concatenate", ["a", "b"]),
        ),
        spec(
            [3, 3, 2], layer("a", "Activation", activation="relu"), layer("cat", "Concatenate", ["input", "a"], axis=1)
        ),
        spec([4, 3], layer("a", "Dense", units=3), layer("cat", "Concatenate", ["input", "a"], axis=-2)),
    ],
}


def case_ids() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{t}-{i}", s) for t, specs in LAYER_CASES.items() for i, s in enumerate(specs)]
