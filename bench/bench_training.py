"""Training overhead and start-up latency of the platform.

1. Whole-epoch time of a platform job over that of a hand-written loop, same framework,
   same generated model, same data and batch size, measured side by side (alternating)
   in one run, for Keras and torch, a tabular MLP (60,000 rows, 32 features, split
   48k/6k/6k, Dense 256-256-10, batch 128) and a small CNN. Both sides are timed from one
   epoch's start to the next (the last epoch: to the end of training), so everything a loop
   does per epoch counts: training, validation, metric rows, progress, TensorBoard events,
   checkpoints, syncs. The platform side is the real job process (`workers.training.child`)
   with the default hyperparameters (early stopping with the best weights kept, reduce on
   plateau) and exports off; the hand side validates on the same 6,000 rows every epoch,
   in the same batches, with the same optimizer settings (Adam, epsilon 1e-7; torch fused).
2. Submission to first trained batch with an idle worker on the embedded broker, for a
   worker with standby children (the default) and one starting a fresh process per job.

Each overhead case prints three ratios, platform over hand: of the median epoch (wall time,
what the target is stated in), of the fastest epoch, and of the median process CPU seconds
per epoch (all threads), which time stolen by the host does not inflate.

Run: .venv/bin/python bench/bench_training.py [--quick] [--threads 1] [--rounds 5] [--epochs 7]
     [--models mlp,cnn] [--frameworks keras,torch] [--no-latency] [--hand-like-platform] [--hand-plain-adam]
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
from dataclasses import dataclass
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

from bench.figures import Figure, record  # noqa: E402

MLP = {"format": 1, "name": "bench-mlp", "input": {"shape": [32]}, "layers": [
    {"id": "h1", "type": "Dense", "params": {"units": 256, "activation": "relu"}},
    {"id": "h2", "type": "Dense", "params": {"units": 256, "activation": "relu"}},
    {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}}]}  # fmt: skip
CNN = {"format": 1, "name": "bench-cnn", "input": {"shape": [16, 16, 3]}, "layers": [
    {"id": "c1", "type": "Conv2D", "params": {"filters": 16, "kernel_size": 3, "activation": "relu"}},
    {"id": "p1", "type": "MaxPooling2D", "params": {"pool_size": 2}},
    {"id": "c2", "type": "Conv2D", "params": {"filters": 32, "kernel_size": 3, "activation": "relu"}},
    {"id": "flat", "type": "Flatten"},
    {"id": "out", "type": "Dense", "params": {"units": 4, "activation": "softmax"}}]}  # fmt: skip


@dataclass(frozen=True)
class Case:
    spec: dict
    shape: tuple[int, ...]
    rows: int  # split 80/10/10: train, validation, test
    batch: int
    classes: int


CASES = {"mlp": Case(MLP, (32,), 60000, 128, 10), "cnn": Case(CNN, (16, 16, 3), 16000, 32, 4)}


def job_hyperparameters(case: Case, epochs: int) -> dict:
    """A job with the defaults a person gets (learning rate, early stopping with the best weights
    kept, reduce-on-plateau), on the CPU, with the case's batch size and a fixed epoch count."""
    return {"epochs": epochs, "batch_size": case.batch, "device": "cpu"}


HAND_LR = 3e-3  # the jobs' default learning rate

# Both sides are timed from one epoch's start to the next (the last epoch: to the end of
# training), so everything a loop does per epoch counts: validation, metrics, checkpoints,
# database writes, syncs. Each process prints [(wall, process CPU), ...] per epoch.
# The hand-written baselines: what someone would type without the platform, with the same
# validation as a job (every epoch, on the validation split) and the same optimizer settings
# (Keras: Adam, epsilon 1e-7; torch: Adam, epsilon 1e-7, fused, as the jobs use).
HAND_KERAS = """
import os, sys, time, json, numpy as np, keras
from builder.codegen import generate_keras
from builder.codegen.guard import load_module
spec, data, epochs, bs, lr = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
keras.utils.set_random_seed(0)
if os.environ.get("HAND_LIKE_PLATFORM"):
    import tensorflow as tf; tf.config.experimental.enable_op_determinism()
X, y = np.load(data + "/X_train.npy"), np.load(data + "/y_train.npy")
Xv, yv = np.load(data + "/X_val.npy"), np.load(data + "/y_val.npy")
model = load_module(generate_keras(spec), "m").build_model()
model.compile(optimizer=keras.optimizers.Adam(lr, epsilon=1e-7), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
marks = []
class T(keras.callbacks.Callback):
    def on_epoch_begin(self, e, logs=None): marks.append((time.perf_counter(), time.process_time()))
    def on_train_end(self, logs=None): marks.append((time.perf_counter(), time.process_time()))
model.fit(X, y, batch_size=bs, epochs=epochs, shuffle=True, verbose=0, validation_data=(Xv, yv),
          validation_batch_size=max(bs, 256), callbacks=[T()])
print(json.dumps([(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])]))
"""
HAND_TORCH = """
import os, sys, time, json, numpy as np, torch, torch.nn.functional as F
from builder.codegen import generate_torch, torch_input_permutation
from builder.codegen.guard import load_module
spec, data, epochs, bs, lr = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
torch.manual_seed(0)
if os.environ.get("HAND_LIKE_PLATFORM"):
    torch.use_deterministic_algorithms(True); torch.utils.deterministic.fill_uninitialized_memory = False
load = lambda name: torch.from_numpy(np.load(data + name))
X, y, Xv, yv = load("/X_train.npy"), load("/y_train.npy").long(), load("/X_val.npy"), load("/y_val.npy").long()
perm = torch_input_permutation(spec)
if perm: Xv = Xv.permute(*perm).contiguous()
model = load_module(generate_torch(spec), "m").build_model()
opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7, fused=not os.environ.get("HAND_PLAIN_ADAM"))
marks = []
for epoch in range(epochs):
    marks.append((time.perf_counter(), time.process_time()))
    model.train()
    order = torch.randperm(len(X))
    for i in range(0, len(X), bs):
        idx = order[i:i + bs]
        xb, yb = X[idx], y[idx]
        if perm: xb = xb.permute(*perm).contiguous()
        out = model(xb)
        loss = F.nll_loss(torch.log(out.clamp(1e-7, 1.0)), yb)
        opt.zero_grad(); loss.backward(); opt.step()
    model.eval()
    with torch.no_grad():
        total, correct, vb = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.int64), max(bs, 256)
        for i in range(0, len(Xv), vb):
            out = model(Xv[i:i + vb])
            total += F.nll_loss(torch.log(out.clamp(1e-7, 1.0)), yv[i:i + vb], reduction="sum")
            correct += (out.argmax(1) == yv[i:i + vb]).sum()
        val_loss, val_accuracy = float(total) / len(Xv), int(correct) / len(Xv)
marks.append((time.perf_counter(), time.process_time()))
print(json.dumps([(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])]))
"""

# The platform side: the real job process (`python -m workers.training.child`'s `main`), with
# marks at each epoch's start (the shared bookkeeping makes an EpochClock there, for either
# framework) and when the backend's training returns. Nothing in the job is changed.
PLATFORM = """
import json, os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
django.setup()
from workers.training import child, epoch_clock
from workers.training.backends import backend_class
marks, out = [], sys.argv[3]
init = epoch_clock.EpochClock.__init__
def clock_init(self):
    marks.append((time.perf_counter(), time.process_time())); init(self)
epoch_clock.EpochClock.__init__ = clock_init
backend = backend_class(sys.argv[4])
train = backend.train
def backend_train(self, *args):
    try:
        return train(self, *args)
    finally:
        marks.append((time.perf_counter(), time.process_time()))
backend.train = backend_train
code = child.main(sys.argv[:3])
with open(out, "w") as fh:
    json.dump([(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])], fh)
sys.exit(code)
"""


def make_dataset(owner, name: str, shape: tuple[int, ...], n: int, classes: int = 4):  # type: ignore[no-untyped-def]
    """Gaussian inputs with labels a model can learn (the argmax of a fixed linear map, 10% of
    them flipped), so validation loss improves for many epochs as on real data."""
    from builder.models import Dataset

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, *shape)).astype(np.float32)
    y = (X.reshape(n, -1) @ rng.normal(size=(int(np.prod(shape)), classes))).argmax(1).astype(np.int64)
    flip = rng.random(n) < 0.1
    y[flip] = rng.integers(0, classes, int(flip.sum()))
    ds = Dataset.objects.create(owner=owner, name=name, kind="tabular", status="ready", sha256="0" * 64,
                                task="classification", input_shape=list(shape), num_classes=classes,
                                class_names=[f"c{i}" for i in range(classes)])  # fmt: skip
    ds.version_dir.mkdir(parents=True, exist_ok=True)
    cut = {"train": (0, int(n * 0.8)), "val": (int(n * 0.8), int(n * 0.9)), "test": (int(n * 0.9), n)}
    for split, (a, b) in cut.items():
        np.save(ds.version_dir / f"X_{split}.npy", X[a:b])
        np.save(ds.version_dir / f"y_{split}.npy", y[a:b])
        np.save(ds.version_dir / f"ids_{split}.npy", np.arange(a, b))
    return ds


def make_case_dataset(owner, name: str, rows: int | None = None):  # type: ignore[no-untyped-def]
    case = CASES[name]
    return make_dataset(owner, name, case.shape, rows or case.rows, case.classes)


Epochs = list[tuple[float, float]]  # (wall, process CPU) seconds per whole epoch


def platform_epochs(owner, ds, case: Case, framework: str, epochs: int) -> Epochs:  # type: ignore[no-untyped-def]
    from workers.lifecycle import claim
    from workers.models import TrainingJob

    job = TrainingJob.objects.create(owner=owner, spec=case.spec, dataset=ds, dataset_version=1, framework=framework,
                                     hyperparameters=job_hyperparameters(case, epochs))  # fmt: skip
    token = claim(job.pk, "bench")
    out = Path(os.environ["LAYERLOOM_VAR_DIR"]) / f"epochs-{job.pk}.json"
    subprocess.run([sys.executable, "-c", PLATFORM, str(job.pk), str(token), str(out), framework], cwd=ROOT,
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.metrics.count() == epochs, "the job stopped early: the benchmark needs every epoch"
    return [(wall, cpu) for wall, cpu in json.loads(out.read_text())]


def hand_epochs(ds, case: Case, framework: str, epochs: int) -> Epochs:  # type: ignore[no-untyped-def]
    code = HAND_KERAS if framework == "keras" else HAND_TORCH
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    args = [json.dumps(case.spec), str(ds.version_dir), str(epochs), str(case.batch), str(HAND_LR)]
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True, text=True,
                         env=env)  # fmt: skip
    return [(wall, cpu) for wall, cpu in json.loads(out.stdout.strip().splitlines()[-1])]


def epoch_times(side: str, owner, ds, case: Case, framework: str, epochs: int) -> Epochs:  # type: ignore[no-untyped-def]
    """The run's whole epochs without its first (graph tracing, allocator warm-up)."""
    if side == "hand":
        return hand_epochs(ds, case, framework, epochs)[1:]
    return platform_epochs(owner, ds, case, framework, epochs)[1:]


def overhead(owner, quick: bool, frameworks: list[str], models: list[str], rounds: int, epochs: int) -> list[dict]:  # type: ignore[no-untyped-def]
    # Many epochs over several alternating rounds: on a shared VM a single epoch can stall for
    # seconds (the hypervisor runs someone else), so one long epoch per sample lets a few
    # stalls decide the median; with dozens of samples per side they fall in the tails.
    if quick:
        rounds, epochs = 1, 3
    data = {name: make_case_dataset(owner, name, CASES[name].rows // (4 if quick else 1)) for name in models}
    rows = []
    for framework in frameworks:
        for name in models:
            case, ds = CASES[name], data[name]
            seen: dict[str, Epochs] = {"platform": [], "hand": []}
            paired: list[float] = []
            for r in range(rounds):  # alternate (and swap who goes first) so both see the same machine load
                order = ("hand", "platform") if r % 2 == 0 else ("platform", "hand")
                this = {side: epoch_times(side, owner, ds, case, framework, epochs) for side in order}
                for side, times in this.items():
                    seen[side] += times
                paired.append(_median(this["platform"], 0) / _median(this["hand"], 0))
            plat, hand = seen["platform"], seen["hand"]
            row = {"framework": framework, "model": name, "batch": case.batch,
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
            record(Figure(f"{framework} {name} (batch {case.batch}), whole epoch, median",
                          f"{row['platform_s']:.3f} s (CPU {row['ratio_cpu']:.2f}x)",
                          f"hand-written loop: {row['hand_s']:.3f} s", row["ratio"], "at most 1.05x",
                          row["ratio"] <= 1.05))  # fmt: skip
            print(f"{framework:6} {name:4} batch {case.batch:3}: whole epochs: platform {row['platform_s']:.3f}s, "
                  f"hand loop {row['hand_s']:.3f}s, ratio {row['ratio']:.3f} (fastest epochs "
                  f"{row['ratio_fastest']:.3f}; CPU seconds {_median(plat, 1):.3f}/{_median(hand, 1):.3f}: "
                  f"{row['ratio_cpu']:.3f}; per round {_fmt(paired)})  (wall/CPU per epoch: platform "
                  f"{_pairs(plat)}; hand {_pairs(hand)})", flush=True)  # fmt: skip
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
        from workers.placement import training_queues

        # Its queue and the device queues beside it: a job's device picks one of them (workers/placement.py).
        queues = training_queues(queue)
        self.proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", queues, "-c", "1",
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

    ds = make_dataset(owner, "latency", (32,), 4000, classes=10)
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
    parser.add_argument("--models", default="mlp,cnn", help="overhead workloads to run (comma-separated)")
    parser.add_argument("--hand-like-platform", action="store_true",
                        help="the hand loops also run in deterministic mode, as every job does")  # fmt: skip
    parser.add_argument("--hand-plain-adam", action="store_true",
                        help="the hand torch loop uses torch's default (per-tensor) Adam instead of the fused one")  # fmt: skip
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
        print("hand loops in deterministic mode, as the jobs")
    if args.hand_plain_adam:
        os.environ["HAND_PLAIN_ADAM"] = "1"
        print("hand torch loop with the default (unfused) Adam")
    latencies = {} if args.no_latency else first_batch_latency(owner, 2 if args.quick else 3)
    for case, times in latencies.items():
        print(f"submission to first batch ({case}, idle worker, filesystem broker): "
              + ", ".join(f"{t:.2f}s" for t in times) + f"; median {statistics.median(times):.2f}s", flush=True)  # fmt: skip
    for framework in ("torch", "keras"):
        standby, cold = latencies.get(f"{framework} standby"), latencies.get(f"{framework} cold")
        if standby and cold:
            standby_s, cold_s = statistics.median(standby), statistics.median(cold)
            record(Figure(f"{framework}: submission to first trained batch, standby process, median",
                          f"{standby_s:.2f} s", f"a fresh process per job: {cold_s:.2f} s", standby_s / cold_s))  # fmt: skip
    frameworks = [f for f in args.frameworks.split(",") if f in ("keras", "torch")]
    models = [m for m in args.models.split(",") if m in CASES]
    rows = overhead(owner, args.quick, frameworks, models, args.rounds, args.epochs)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print(json.dumps({"overhead": rows, "first_batch_s": latencies}))


if __name__ == "__main__":
    main()
