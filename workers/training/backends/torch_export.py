"""torch's export: model.safetensors, TorchScript model.pt and ONNX, each checked against the
trained model. Imported by the torch backend only (torch is loaded with it).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from builder.codegen.guard import load_module
from workers.training.export import BATCH_AXIS, INPUT_NAME, ONNX_OPSET, OUTPUT_NAME, ExportError, _compare

log = logging.getLogger(__name__)


def export_files(
    model: Any, source: str, sample: np.ndarray, out_dir: Path, work: Path
) -> tuple[list[tuple[str, Path]], Path, np.ndarray, str]:
    module = load_module(source, "layerloom_export_model")
    fresh = module.build_model()
    state = {
        key: value.detach().to("cpu", dtype=torch.float32 if value.is_floating_point() else value.dtype).clone()
        for key, value in model.state_dict().items()
    }
    fresh.load_state_dict(state)
    fresh.eval()
    permutation = module.INPUT_PERMUTATION
    channels_last = torch.from_numpy(np.ascontiguousarray(sample, dtype=module.INPUT_DTYPE))
    native = channels_last.permute(*permutation).contiguous() if permutation else channels_last
    with torch.no_grad():
        reference = fresh(native).numpy()
    parameter = next(iter(model.parameters()), None)
    if parameter is None or parameter.device.type == "cpu":
        # On a GPU the trained model may compute in TF32; the copy is exact by construction.
        was_training = model.training
        model.eval()
        with torch.no_grad():
            _compare("copy of the trained model", model(native).numpy(), reference)
        model.train(was_training)

    weights = out_dir / "model.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(weights), metadata={"format": "pt"})
    check = module.build_model()
    check.load_state_dict(load_file(str(weights)))
    check.eval()
    with torch.no_grad():
        _compare("model.safetensors", reference, check(native).numpy())

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constants; the check below is what counts
        # TorchScript stores the example it traced with; a synthetic one keeps the
        # person's data out of the file.
        traced = torch.jit.trace(fresh, (synthetic(native[:2]),), check_trace=False)
    with warnings.catch_warnings():
        # torch 2.13 marks TorchScript deprecated in favour of torch.export; it still loads
        # everywhere, without Python, which is what this file is for.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(traced, str(out_dir / "model.pt"))
        loaded = torch.jit.load(str(out_dir / "model.pt"), map_location="cpu")
    with torch.no_grad():
        _compare("TorchScript model.pt", reference, loaded(native).numpy())

    exporter = onnx_file(fresh, permutation, synthetic(channels_last[:2]), out_dir / "model.onnx")
    files = [("safetensors", weights), ("torchscript", out_dir / "model.pt")]
    return files, weights, reference, exporter


def synthetic(example: Any) -> Any:
    """A tracing input of the example's shape and dtype, with no real data in it (kept small:
    TorchScript stores it in the file)."""
    if example.is_floating_point():
        return torch.randn(example.shape, generator=torch.Generator().manual_seed(0)).to(example.dtype)
    return torch.ones_like(example)  # token ids: 1 is a valid index in any vocabulary


def onnx_file(fresh: Any, permutation: tuple[int, ...] | None, sample: Any, path: Path) -> str:
    """ONNX with a channels-last input: the dynamo exporter first, the TorchScript one if it fails."""

    class ChannelsLast(torch.nn.Module):
        # Same input as the Keras export and the preprocessing output, for one serving path.
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x.permute(*permutation) if permutation else x)

    wrapped = ChannelsLast(fresh).eval()
    attempts: list[tuple[str, Callable[[], None]]] = [
        (
            "torch.onnx.export (dynamo)",
            lambda: torch.onnx.export(
                wrapped,
                (sample,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim(BATCH_AXIS)},),
                opset_version=ONNX_OPSET,
                external_data=False,
                dynamo=True,
                verbose=False,
            ),
        ),
        (
            "torch.onnx.export (TorchScript-based)",
            lambda: torch.onnx.export(
                wrapped,
                (sample,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: BATCH_AXIS}, OUTPUT_NAME: {0: BATCH_AXIS}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            ),
        ),
    ]
    failures = []
    for name, attempt in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                attempt()
            return f"{name}, torch {torch.__version__}"
        except Exception as exc:  # noqa: BLE001 - any exporter failure means: try the next one
            log.warning("ONNX export with %s failed: %s", name, exc)
            failures.append(f"{name}: {exc.__class__.__name__}: {str(exc)[:200]}")
            path.unlink(missing_ok=True)
    raise ExportError("ONNX export failed. " + " | ".join(failures))
