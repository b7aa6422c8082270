"""The audio preset: a small convolutional network over the log-mel spectrogram.

Three 3x3 convolutions, each halving both axes with max pooling, then the whole map into
the classifier: where in the clip and at which pitch a sound lies both matter for a word,
so the map is flattened rather than averaged away. The first layer standardises the input
(batch normalisation over its one channel). On the spoken-word set (8 words, 10 voices)
it beats logistic regression on the same features: bench/bench_audio.py, docs/benchmarks.md.
"""

from __future__ import annotations

from typing import Any

from builder.spec.presets import PresetError, output_head

NAME = "audio_cnn"
# Three poolings of 2: below 8 mel bands or 8 frames the last one would have nothing to pool.
_MIN_SIDE = 8


def audio_cnn(input_shape: list[int], task: str, n_outputs: int) -> dict[str, Any]:
    """The preset fitted to spectrograms of input_shape (n_mels, frames, 1)."""
    shape = [int(d) for d in input_shape]
    if len(shape) != 3 or min(shape[:2]) < _MIN_SIDE:
        raise PresetError(
            f"The preset {NAME!r} needs spectrograms of at least {_MIN_SIDE} mel bands by {_MIN_SIDE} frames, "
            f"not shape {shape}."
        )
    conv = {"kernel_size": 3, "padding": "same", "activation": "relu"}
    layers: list[dict[str, Any]] = [{"id": "norm", "type": "BatchNormalization"}]
    for index, filters in enumerate((16, 32, 32), start=1):
        layers.append({"id": f"conv{index}", "type": "Conv2D", "params": {"filters": filters, **conv}})
        layers.append({"id": f"pool{index}", "type": "MaxPooling2D", "params": {"pool_size": 2}})
    layers += [
        {"id": "flat", "type": "Flatten"},
        {"id": "drop", "type": "Dropout", "params": {"rate": 0.3}},
        {"id": "out", "type": "Dense", "params": output_head(task, n_outputs)},
    ]
    target = "one number" if task == "regression" else f"{n_outputs} classes"
    return {
        "format": 1,
        "name": "audio-cnn",
        "description": (
            "Small convolutional network for spectrograms (three convolutions, flattened), fitted to "
            f"{shape[0]} mel bands x {shape[1]} frames → {target}."
        ),
        "input": {"shape": shape},
        "layers": layers,
    }
