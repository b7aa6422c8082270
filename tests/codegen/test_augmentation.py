"""Augmentation layers change images while training and pass them through otherwise, in both frameworks.

That they are the identity at inference, with equal shapes and parameter counts, is part of
tests/codegen/test_equivalence.py; this checks the training side.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from builder.codegen import generate_keras, generate_torch
from builder.codegen.guard import load_module
from tests.codegen.cases import layer, spec

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

AUGMENTATIONS = {
    "RandomFlip": {},
    "RandomRotation": {"factor": 0.2},
    "RandomZoom": {"height_factor": 0.3},
    "RandomContrast": {"factor": 0.5},
}


def images(rng: np.random.Generator) -> np.ndarray:
    """Eight 6x6 RGB images in [0, 1] with structure (a gradient plus noise), so every change shows."""
    ramp = np.linspace(0, 1, 6, dtype=np.float32)
    base = ramp[None, :, None, None] * 0.5 + ramp[None, None, :, None] * 0.3
    return np.clip(base + rng.uniform(0, 0.2, size=(8, 6, 6, 3)).astype(np.float32), 0, 1)


@pytest.mark.parametrize("layer_type", sorted(AUGMENTATIONS))
def test_augmentation_changes_images_in_training_only(layer_type: str) -> None:
    import keras
    import torch

    model_spec = spec([6, 6, 3], layer("aug", layer_type, **AUGMENTATIONS[layer_type]))
    x = images(np.random.default_rng(0))
    keras.utils.set_random_seed(3)
    keras_model = load_module(generate_keras(model_spec), "aug_keras").build_model()
    np.testing.assert_array_equal(np.asarray(keras_model(x, training=False)), x)
    trained = np.asarray(keras_model(x, training=True))
    assert trained.shape == x.shape and not np.allclose(trained, x, atol=1e-3)

    torch.manual_seed(3)
    torch_model = load_module(generate_torch(model_spec), "aug_torch").build_model()
    nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    torch_model.eval()
    with torch.no_grad():
        np.testing.assert_array_equal(torch_model(nchw).numpy(), nchw.numpy())
        torch_model.train()
        changed = torch_model(nchw).numpy()
    assert changed.shape == nchw.shape and not np.allclose(changed, nchw.numpy(), atol=1e-3)
    # Per image: some images change, and (with eight draws) not all in the same way.
    per_image = np.abs(changed - nchw.numpy()).reshape(8, -1).max(axis=1)
    assert per_image.max() > 1e-3
    if layer_type == "RandomContrast":
        assert changed.min() >= 0.0 and changed.max() <= 1.0  # clipped to value_range
        means = changed.mean(axis=(2, 3))
        np.testing.assert_allclose(means, nchw.numpy().mean(axis=(2, 3)), atol=0.05)  # contrast, not brightness
    keras.backend.clear_session()
