"""Speed of validation + shape inference and of code generation on a 200-layer spec.

Targets (issue 3): validate + infer < 50 ms, codegen < 100 ms. Prints the median of
several runs and the ratio to the target (below 1.0 is within target).

    python bench/bench_spec.py [--repeat 20] [--check]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import Figure, record  # noqa: E402
from builder.codegen import generate_keras, generate_torch  # noqa: E402
from builder.spec import validate_spec  # noqa: E402

VALIDATE_TARGET_MS = 50.0
CODEGEN_TARGET_MS = 100.0


def residual_spec(layer_count: int = 200) -> dict[str, Any]:
    """A residual CNN of exactly ``layer_count`` layers (six per block) - a realistic DAG."""
    layers: list[dict[str, Any]] = [
        {"id": "stem", "type": "Conv2D", "params": {"filters": 16, "kernel_size": 3, "padding": "same"}}
    ]
    previous = "stem"
    block = 0
    while len(layers) + 6 + 2 <= layer_count:
        b = f"block{block}"
        layers += [
            {"id": f"{b}_conv1", "type": "Conv2D", "params": {"filters": 16, "kernel_size": 3, "padding": "same"}},
            {"id": f"{b}_bn1", "type": "BatchNormalization"},
            {"id": f"{b}_conv2", "type": "Conv2D", "params": {"filters": 16, "kernel_size": 3, "padding": "same"}},
            {"id": f"{b}_bn2", "type": "BatchNormalization"},
            {"id": f"{b}_add", "type": "Add", "inputs": [previous, f"{b}_bn2"]},
            {"id": f"{b}_relu", "type": "Activation", "params": {"activation": "relu"}},
        ]
        previous = f"{b}_relu"
        block += 1
    layers.append({"id": "gap", "type": "GlobalAveragePooling2D"})
    while len(layers) < layer_count - 1:
        layers.append({"id": f"fc{len(layers)}", "type": "Dense", "params": {"units": 32, "activation": "relu"}})
    layers.append({"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}})
    return {"format": 1, "name": "bench", "input": {"shape": [32, 32, 3]}, "layers": layers}


def median_ms(func: Callable[[], object], repeat: int) -> float:
    func()  # warm caches (pydantic validators, imports)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    spec = residual_spec()
    report = validate_spec(spec)
    assert report.ok and len(report.layers) == 200, report.errors

    results = [
        ("validate + infer shapes", median_ms(lambda: validate_spec(spec), args.repeat), VALIDATE_TARGET_MS),
        ("codegen keras", median_ms(lambda: generate_keras(spec), args.repeat), CODEGEN_TARGET_MS),
        ("codegen torch", median_ms(lambda: generate_torch(spec), args.repeat), CODEGEN_TARGET_MS),
    ]
    print(f"200-layer residual spec ({report.total_params:,} parameters), median of {args.repeat} runs")
    print(f"{'step':<26}{'measured':>12}{'target':>10}{'ratio':>8}")
    missed = False
    for name, measured, target in results:
        ratio = measured / target
        missed |= ratio > 1
        print(f"{name:<26}{measured:>9.2f} ms{target:>7.0f} ms{ratio:>8.2f}")
        record(Figure(f"{name}, median of {args.repeat}", f"{measured:.2f} ms", f"the target, {target:.0f} ms", ratio,
                      f"under {target:.0f} ms", ratio <= 1))  # fmt: skip
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
