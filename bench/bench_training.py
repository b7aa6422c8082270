"""Training overhead and start-up latency of the platform.

1. Epoch time of a platform job over that of a minimal hand-written loop, same framework,
   same generated model, same data and batch size, measured side by side (alternating)
   in one run, for Keras and torch, a tabular MLP and a small CNN. The platform side is
   the real job process (`python -m workers.training.child`), with its DB progress,
   per-epoch metrics, TensorBoard events and checkpoints; its `epoch_seconds` metric is
   training time without validation, measured the same way as the hand loop's.
2. Submission to first trained batch with an idle worker on the embedded broker, for a
   worker with standby children (the default) and one starting a fresh process per job.

Each overhead case prints three ratios, platform over hand: of the median epoch (wall time,
what the target is stated in), of the fastest epoch, and of the median process CPU seconds
per epoch (all threads), which time stolen by the host does not inflate.

Run: .venv/bin/python bench/bench_training.py [--quick] [--threads 1] [--rounds 5] [--epochs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LAYERLOOM_VAR_DIR", tempfile.mkdtemp(prefix="layerloom-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
os.environ["LAYERLOOM_EXPORT_ARTIFACTS"] = "0"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402

MLP = {"format": 1, "name": "bench-mlp", "input": {"shape": [32]}, "layers": [
    {"id": "h1", "type": "Dense", "params": {"units": 128, "activation": "relu"}},
    {"id": "h2", "type": "Dense", "params": {"units": 64, "activation": "relu"}},
    {"id": "out", "type": "Dense", "params": {"units": 4, "activation": "softmax"}}]}  # fmt: skip
CNN = {"format": 1, "name": "bench-cnn", "input": {"shape": [16, 16, 3]}, "layers": [
    {"id": "c1", "type": "Conv2D", "params": {"filters": 16, "kernel_size": 3, "activation": "relu"}},
    {"id": "p1", "type": "MaxPooling2D", "params": {"pool_size": 2}},
    {"id": "c2", "type": "Conv2D", "params": {"filters": 32, "kernel_size": 3, "activation": "relu"}},
    {"id": "flat", "type": "Flatten"},
    {"id": "out", "type": "Dense", "params": {"units": 4, "activation": "softmax"}}]}  # fmt: skip

# The hand-written baselines: what someone would type without the platform (run in a fresh process).
HAND_KERAS = """
import os, sys, time, json, numpy as np, keras
from builder.codegen import generate_keras
from builder.codegen.guard import load_module
spec, data, epochs, bs = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
keras.utils.set_random_seed(0)
if os.environ.get("HAND_LIKE_PLATFORM"):
    import tensorflow as tf; tf.config.experimental.enable_op_determinism()
X, y = np.load(data + "/X_train.npy"), np.load(data + "/y_train.npy")
model = load_module(generate_keras(spec), "m").build_model()
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
class T(keras.callbacks.Callback):
    times = []
    def on_epoch_begin(self, e, logs=None): self.t, self.c = time.perf_counter(), time.process_time()
    def on_epoch_end(self, e, logs=None): self.times.append((time.perf_counter() - self.t, time.process_time() - self.c))
model.fit(X, y, batch_size=bs, epochs=epochs, shuffle=True, verbose=0, callbacks=[T()])
print(json.dumps(T.times))
"""
HAND_TORCH = """
import os, sys, time, json, numpy as np, torch, torch.nn.functional as F
from builder.codegen import generate_torch, torch_input_permutation
from builder.codegen.guard import load_module
spec, data, epochs, bs = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
like_platform = bool(os.environ.get("HAND_LIKE_PLATFORM"))
if like_platform:
    torch.use_deterministic_algorithms(True); torch.utils.deterministic.fill_uninitialized_memory = False
X, y = torch.from_numpy(np.load(data + "/X_train.npy")), torch.from_numpy(np.load(data + "/y_train.npy")).long()
perm = torch_input_permutation(spec)
model = load_module(generate_torch(spec), "m").build_model()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=like_platform)
times = []
for epoch in range(epochs):
    t, c = time.perf_counter(), time.process_time()
    model.train()
    order = torch.randperm(len(X))
    for i in range(0, len(X), bs):
        idx = order[i:i + bs]
        xb, yb = X[idx], y[idx]
        if perm: xb = xb.permute(*perm).contiguous()
        out = model(xb)
        loss = F.nll_loss(torch.log(out.clamp(1e-7, 1.0)), yb)
        opt.zero_grad(); loss.backward(); opt.step()
    times.append((time.perf_counter() - t, time.process_time() - c))
print(json.dumps(times))
"""


def make_dataset(owner, name: str, shape: tuple[int, ...], n: int):  # type: ignore[no-untyped-def]
    from builder.models import Dataset

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, *shape)).astype(np.float32)
    y = rng.integers(0, 4, n).astype(np.int64)
    ds = Dataset.objects.create(owner=owner, name=name, kind="tabular", status="ready", sha256="0" * 64,
                                task="classification", input_shape=list(shape), num_classes=4,
                                class_names=["a", "b", "c", "d"])  # fmt: skip
    ds.version_dir.mkdir(parents=True, exist_ok=True)
    cut = {"train": (0, int(n * 0.8)), "val": (int(n * 0.8), int(n * 0.9)), "test": (int(n * 0.9), n)}
    for split, (a, b) in cut.items():
        np.save(ds.version_dir / f"X_{split}.npy", X[a:b])
        np.save(ds.version_dir / f"y_{split}.npy", y[a:b])
        np.save(ds.version_dir / f"ids_{split}.npy", np.arange(a, b))
    return ds


Epochs = list[tuple[float, float]]  # (wall, process CPU) seconds per epoch


def platform_epochs(owner, ds, spec: dict, framework: str, epochs: int, batch: int) -> Epochs:  # type: ignore[no-untyped-def]
    from workers.lifecycle import claim
    from workers.models import TrainingJob

    hp = {"epochs": epochs, "batch_size": batch, "learning_rate": 1e-3, "device": "cpu"}
    job = TrainingJob.objects.create(owner=owner, spec=spec, dataset=ds, dataset_version=1, framework=framework,
                                     hyperparameters=hp)  # fmt: skip
    token = claim(job.pk, "bench")
    subprocess.run([sys.executable, "-m", "workers.training.child", str(job.pk), str(token)], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return [(m.values["epoch_seconds"], m.values["epoch_cpu_seconds"]) for m in job.metrics.all()]


def hand_epochs(ds, spec: dict, framework: str, epochs: int, batch: int) -> Epochs:  # type: ignore[no-untyped-def]
    code = HAND_KERAS if framework == "keras" else HAND_TORCH
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, json.dumps(spec), str(ds.version_dir), str(epochs), str(batch)],
                         cwd=ROOT, check=True, capture_output=True, text=True, env=env)  # fmt: skip
    return [(wall, cpu) for wall, cpu in json.loads(out.stdout.strip().splitlines()[-1])]


def epoch_times(side: str, owner, ds, spec: dict, framework: str, epochs: int, batch: int) -> Epochs:  # type: ignore[no-untyped-def]
    """The run's epochs without its first (graph tracing, allocator warm-up)."""
    if side == "hand":
        return hand_epochs(ds, spec, framework, epochs, batch)[1:]
    return platform_epochs(owner, ds, spec, framework, epochs, batch)[1:]


def overhead(owner, quick: bool, frameworks: list[str], rounds: int, epochs: int) -> list[dict]:  # type: ignore[no-untyped-def]
    # Many short epochs over several alternating rounds: on a shared VM a single epoch can
    # stall for seconds (the hypervisor runs someone else), so one long epoch per sample lets a
    # few stalls decide the median; with dozens of samples per side they fall in the tails.
    if quick:
        rounds, epochs = 1, 3
    cases = [("mlp", MLP, make_dataset(owner, "mlp", (32,), 30000 if quick else 80000), 64),
             ("cnn", CNN, make_dataset(owner, "cnn", (16, 16, 3), 5000 if quick else 16000), 32)]  # fmt: skip
    rows = []
    for framework in frameworks:
        for name, spec, ds, batch in cases:
            seen: dict[str, Epochs] = {"platform": [], "hand": []}
            paired: list[float] = []
            for r in range(rounds):  # alternate (and swap who goes first) so both see the same machine load
                order = ("hand", "platform") if r % 2 == 0 else ("platform", "hand")
                this = {side: epoch_times(side, owner, ds, spec, framework, epochs, batch) for side in order}
                for side, times in this.items():
                    seen[side] += times
                paired.append(_median(this["platform"], 0) / _median(this["hand"], 0))
            plat, hand = seen["platform"], seen["hand"]
            row = {"framework": framework, "model": name, "batch": batch,
                   "train_rows": len(np.load(ds.version_dir / "y_train.npy")),
                   "platform_s": _median(plat, 0), "hand_s": _median(hand, 0),
                   "ratio": _median(plat, 0) / _median(hand, 0),
                   # The fastest epoch of each side: interference from the rest of the machine
                   # only ever adds time, so the minimum is a steadier estimate of the code's cost.
                   "ratio_fastest": min(t for t, _ in plat) / min(t for t, _ in hand),
                   # Process CPU seconds (all threads) per epoch: time the host took the CPU away
                   # (steal, other tenants) is not in them, so they hold still where wall time does not.
                   "ratio_cpu": _median(plat, 1) / _median(hand, 1),
                   "ratio_rounds": paired, "platform_all": plat, "hand_all": hand}  # fmt: skip
            rows.append(row)
            print(f"{framework:6} {name:4} batch {batch:3}: platform {row['platform_s']:.3f}s/epoch, hand loop "
                  f"{row['hand_s']:.3f}s/epoch, ratio {row['ratio']:.3f} (fastest epochs {row['ratio_fastest']:.3f}; "
                  f"CPU seconds {_median(plat, 1):.3f}/{_median(hand, 1):.3f}: {row['ratio_cpu']:.3f}; per round "
                  f"{_fmt(paired)})  (wall/CPU per epoch: platform {_pairs(plat)}; hand {_pairs(hand)})", flush=True)  # fmt: skip
    return rows


def _median(times: Epochs, which: int) -> float:
    return statistics.median(t[which] for t in times)


def _pairs(times: Epochs) -> str:
    return " ".join(f"{wall:.2f}/{cpu:.2f}" for wall, cpu in times)


def _fmt(ratios: list[float]) -> str:
    return " ".join(f"{r:.3f}" for r in ratios)


class Worker:
    """A training worker as the Procfile runs it, on its own queue; standby children on or off."""

    def __init__(self, queue: str, standby: bool) -> None:
        env = {**os.environ, "LAYERLOOM_STANDBY_FRAMEWORKS": "torch,keras" if standby else "none"}
        self.queue = queue
        self.log_path = Path(os.environ["LAYERLOOM_VAR_DIR"]) / f"bench-worker-{queue}.log"
        log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", queue, "-c", "1",
                                      "--max-tasks-per-child", "1", "-n", f"{queue}@%h", "-l", "INFO",
                                      "--without-gossip", "--without-mingle"],
                                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while " ready." not in self.log_path.read_text(errors="replace"):
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log_path.read_text()[-3000:]
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def first_batch_latency(owner, tries: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Seconds from submit_job to the job's first recorded batch, with an idle worker waiting.

    Two workers, one per variant (fresh child per job: "cold"; standby children: "standby"),
    each on its own queue; submissions alternate between them and between frameworks.
    """
    from django.conf import settings

    from workers.models import TrainingJob
    from workers.services import submit_job

    ds = make_dataset(owner, "latency", (32,), 4000)
    workers = {"cold": Worker("training-bench-cold", False), "standby": Worker("training-bench-standby", True)}
    results: dict[str, list[float]] = {}
    try:
        for worker in workers.values():
            worker.wait_ready()
        for _ in range(tries):
            for framework in ("torch", "keras"):
                for variant, worker in workers.items():
                    time.sleep(8)  # the worker replaces its pool process (and standby children) after each job
                    settings.LAYERLOOM_TRAINING_QUEUE = worker.queue
                    start = time.monotonic()
                    job = submit_job(owner, spec=MLP, dataset=ds, framework=framework,
                                     hyperparameters={"epochs": 1, "batch_size": 8, "device": "cpu"})  # fmt: skip
                    while True:
                        job.refresh_from_db(fields=["status", "batch", "epoch", "error"])
                        if job.batch > 0 or job.epoch > 0:
                            results.setdefault(f"{framework} {variant}", []).append(time.monotonic() - start)
                            break
                        assert job.status in ("queued", "running"), job.error
                        time.sleep(0.02)
                    while TrainingJob.objects.get(pk=job.pk).status == "running":
                        time.sleep(0.2)
    finally:
        for worker in workers.values():
            worker.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller data, one round")
    parser.add_argument(
        "--frameworks", default="keras,torch", help="overhead cases to run (comma-separated; none: skip)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating hand/platform rounds per case")
    parser.add_argument("--epochs", type=int, default=7, help="epochs per run (the first, warm-up, is not counted)")
    parser.add_argument("--no-latency", action="store_true", help="skip submission-to-first-batch")
    parser.add_argument("--hand-like-platform", action="store_true",
                        help="the hand loops use the framework settings every job uses (deterministic mode; "
                             "torch's fused Adam), so the ratio is the platform's own per-batch cost")  # fmt: skip
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per framework for both sides of the overhead runs (0: the framework's "
                             "default); 1 keeps a loaded 2-core machine from stalling the thread pools")  # fmt: skip
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create_user("bench")
    print(f"CPU threads available: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    if args.threads:
        # torch sizes its pool from OMP_NUM_THREADS, TensorFlow from its own two variables.
        for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ[name] = str(args.threads)
        print(f"OMP_NUM_THREADS, TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS={args.threads} for both sides")
    if args.hand_like_platform:
        os.environ["HAND_LIKE_PLATFORM"] = "1"
        print("hand loops with the jobs' framework settings (deterministic mode; torch: fused Adam)")
    latencies = {} if args.no_latency else first_batch_latency(owner, 2 if args.quick else 3)
    for case, times in latencies.items():
        print(f"submission to first batch ({case}, idle worker, filesystem broker): "
              + ", ".join(f"{t:.2f}s" for t in times) + f"; median {statistics.median(times):.2f}s", flush=True)  # fmt: skip
    frameworks = [f for f in args.frameworks.split(",") if f in ("keras", "torch")]
    rows = overhead(owner, args.quick, frameworks, args.rounds, args.epochs)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print(json.dumps({"overhead": rows, "first_batch_s": latencies}))


if __name__ == "__main__":
    main()
