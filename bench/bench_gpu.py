"""GPU smoke benchmark: a small CNN trained with Keras and torch on the GPU and on the CPU.

Prints samples per second for each. Where no CUDA device is visible it says so plainly
and exits 0 without numbers: nothing here pretends a CPU run is a GPU run.

Run: .venv/bin/python bench/bench_gpu.py [--samples 8192] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, record  # noqa: E402

SPEC = {"format": 1, "name": "gpu-smoke-cnn", "input": {"shape": [32, 32, 3]}, "layers": [
    {"id": "c1", "type": "Conv2D", "params": {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}},
    {"id": "p1", "type": "MaxPooling2D", "params": {"pool_size": 2}},
    {"id": "c2", "type": "Conv2D", "params": {"filters": 64, "kernel_size": 3, "padding": "same", "activation": "relu"}},
    {"id": "p2", "type": "MaxPooling2D", "params": {"pool_size": 2}},
    {"id": "flat", "type": "Flatten"},
    {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}}]}  # fmt: skip

# Each measurement runs in its own process: TensorFlow keeps GPU memory for a process's life.
KERAS = """
import os, sys, json, time, numpy as np
if sys.argv[2] == "cpu": os.environ["CUDA_VISIBLE_DEVICES"] = ""
import keras, tensorflow as tf
from builder.codegen import generate_keras
from builder.codegen.guard import load_module
n, epochs = int(sys.argv[3]), int(sys.argv[4])
X = np.random.default_rng(0).normal(size=(n, 32, 32, 3)).astype("float32"); y = np.arange(n) % 10
model = load_module(generate_keras(json.loads(sys.argv[1])), "m").build_model()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(X[:512], y[:512], batch_size=128, epochs=1, verbose=0)
t = time.perf_counter(); model.fit(X, y, batch_size=128, epochs=epochs, verbose=0); s = time.perf_counter() - t
gpus = tf.config.list_physical_devices("GPU")
name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else "CPU"
print(json.dumps({"device": name, "samples_per_second": n * epochs / s}))
"""
TORCH = """
import sys, json, time, numpy as np, torch, torch.nn.functional as F
from builder.codegen import generate_torch, torch_input_permutation
from builder.codegen.guard import load_module
spec, dev, n, epochs = json.loads(sys.argv[1]), torch.device(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
X = torch.randn(n, 32, 32, 3).permute(*torch_input_permutation(spec)).contiguous().to(dev)
y = (torch.arange(n) % 10).to(dev)
model = load_module(generate_torch(spec), "m").build_model().to(dev)
opt = torch.optim.Adam(model.parameters())
def epoch():
    for i in range(0, n, 128):
        loss = F.nll_loss(torch.log(model(X[i:i + 128]).clamp(1e-7, 1)), y[i:i + 128])
        opt.zero_grad(); loss.backward(); opt.step()
epoch()
if dev.type == "cuda": torch.cuda.synchronize()
t = time.perf_counter()
for _ in range(epochs): epoch()
if dev.type == "cuda": torch.cuda.synchronize()
name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "CPU"
print(json.dumps({"device": name, "samples_per_second": n * epochs / (time.perf_counter() - t)}))
"""


def measure(code: str, device: str, samples: int, epochs: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, "-c", code, json.dumps(SPEC), device, str(samples), str(epochs)]
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cuda_available() -> bool:
    probe = "import torch; print(torch.cuda.is_available())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return out.stdout.strip() == "True"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    if not cuda_available():
        print("GPU smoke benchmark NOT RUN: no CUDA device is visible on this machine (torch.cuda.is_available() "
              "is False). No GPU figures were produced.")  # fmt: skip
        record(Figure("GPU training", "not run: no CUDA device on this machine"))
        return 0
    for framework, code in (("keras", KERAS), ("torch", TORCH)):
        rates = {}
        for device in ("cuda", "cpu"):
            result = measure(code, device, args.samples if device == "cuda" else args.samples // 4, args.epochs)
            rates[device] = result["samples_per_second"]
            print(f"{framework:6} {device:4} {result['device']}: {result['samples_per_second']:.0f} samples/s")
        record(Figure(f"{framework} small CNN on the GPU", f"{rates['cuda']:,.0f} samples/s",
                      f"on the CPU: {rates['cpu']:,.0f} samples/s", rates["cuda"] / rates["cpu"]))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
