"""The Keras job loop's own cost, with machine drift taken out.

`bench_training.py` compares a job process with a hand-written process, run one after the
other. On a shared VM whose speed drifts by 10-20% from minute to minute, that comparison
cannot resolve a few per cent. Here both loops run in one process and alternate epoch by
epoch, so each pair of epochs sees the same machine:

- platform: `model.fit` as a job runs it (`KerasBackend.build`, the job's input stream
  `keras_runner.batches`, the job's `Report` callback,
  a live `Reporter` thread writing progress and reading the cancel flag, validation data,
  deterministic mode, an epoch checkpoint), timed by the job's own `epoch_seconds` and
  `epoch_cpu_seconds` metrics;
- hand: `model.fit` of the same generated model on the same data and batch size, with an
  epoch timer as its only callback.

What this leaves out is what differs between the processes (Django imported, deterministic
mode: the same in both here); `bench_training.py --hand-like-platform` covers the latter.

Run: .venv/bin/python bench/bench_keras_loop.py [--pairs 30] [--models mlp,cnn]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
from pathlib import Path

# One thread per pool for both loops, set before TensorFlow is imported (see bench_training.py).
for _name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_name, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_training import CNN, MLP, make_dataset  # noqa: E402 - sets up Django and the data folder

from bench.figures import Figure, record  # noqa: E402


def pairs_of_epochs(owner, name: str, pairs: int) -> dict[str, list[tuple[float, float]]]:  # type: ignore[no-untyped-def]
    import keras

    from workers.lifecycle import claim
    from workers.models import TrainingJob
    from workers.training import keras_runner
    from workers.training.backends.keras import KerasBackend, Report
    from workers.training.bookkeeping import EpochBook
    from workers.training.context import JobContext
    from workers.training.epoch_clock import EpochClock
    from workers.training.reporter import EarlyStopping, Reporter

    # Short epochs (under a second on a quiet machine) and many pairs: the less time a pair
    # spans, the less the machine can change between its two halves.
    spec, shape, rows, batch = {"mlp": (MLP, (32,), 25000, 64), "cnn": (CNN, (16, 16, 3), 5000, 32)}[name]
    ds = make_dataset(owner, f"loop-{name}", shape, rows)
    hp = {"epochs": pairs + 1, "batch_size": batch, "learning_rate": 1e-3, "device": "cpu"}
    job = TrainingJob.objects.create(owner=owner, spec=spec, dataset=ds, dataset_version=1, framework="keras",
                                     hyperparameters=hp)  # fmt: skip
    ctx = JobContext.from_job(job)
    ctx.job_dir.mkdir(parents=True, exist_ok=True)
    train, val = ctx.split("train"), ctx.split("val")
    backend = KerasBackend(ctx)  # the device set up as for a job
    reporter = Reporter(job.pk, claim(job.pk, "bench"), hp["epochs"], -(-len(train.X) // batch))
    job_model, hand_model = backend.build(), backend.build()
    hand_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])  # fmt: skip

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.clock = EpochClock()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            took = self.clock.read()
            self.took = took["epoch_seconds"], took["epoch_cpu_seconds"]

    class HandEpochs(keras.callbacks.Callback):
        """Runs one hand epoch between the job's epochs, before or after alternately.

        The job's fit stays one call over all its epochs, as in a real job (a fit call per
        epoch would rebuild its validation pipeline inside the timed span every epoch).
        """

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            if epoch % 2:
                seen["hand"].append(hand_epoch())

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if not epoch % 2:
                seen["hand"].append(hand_epoch())

    def hand_epoch() -> tuple[float, float]:
        timer = EpochTimer()
        hand_model.fit(train.X, train.y, batch_size=batch, epochs=1, shuffle=True, verbose=0, callbacks=[timer])
        return timer.took

    seen: dict[str, list[tuple[float, float]]] = {"platform": [], "hand": []}
    reporter.start()
    gc.freeze()  # as the job process does before training
    try:
        # HandEpochs goes first, so its epoch_begin runs before Report starts the job's clock.
        book = EpochBook(ctx, reporter, train, val)
        book.early = EarlyStopping(None)  # every epoch runs
        callbacks = [HandEpochs(), Report(book, keras_runner.Snapshots(job_model, ctx))]
        # The job's own input stream, as KerasBackend.train feeds it.
        job_model.fit(keras_runner.batches(train, batch, 0), steps_per_epoch=-(-len(train.X) // batch),
                      epochs=hp["epochs"], validation_data=(val.X, val.y), verbose=0, shuffle=False,
                      validation_batch_size=ctx.hp.inference_batch_size,
                      callbacks=callbacks)  # fmt: skip
    finally:
        reporter.stop()
    job_times = [(m.values["epoch_seconds"], m.values["epoch_cpu_seconds"]) for m in job.metrics.order_by("epoch")]
    # The first epoch of each side is warm-up (tracing) and not counted.
    return {"platform": job_times[1:], "hand": seen["hand"][1:]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=30, help="counted epoch pairs per model")
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench-loop")
    print(f"threads per pool: {os.environ['OMP_NUM_THREADS']}; load average {os.getloadavg()[0]:.2f}")
    for name in args.models.split(","):
        seen = pairs_of_epochs(owner, name, args.pairs)
        for label, which in (("wall", 0), ("CPU", 1)):
            plat = [t[which] for t in seen["platform"]]
            hand = [t[which] for t in seen["hand"]]
            ratios = [p / h for p, h in zip(plat, hand, strict=True)]
            print(f"keras {name:3} {label:4} s/epoch: platform {statistics.median(plat):.3f}, hand "
                  f"{statistics.median(hand):.3f}; paired ratio median {statistics.median(ratios):.3f} "
                  f"(pairs: {' '.join(f'{r:.2f}' for r in ratios)})", flush=True)  # fmt: skip
            record(Figure(f"keras {name}, {label} seconds per epoch, median of {len(ratios)} pairs",
                          f"{statistics.median(plat):.3f} s", f"plain model.fit: {statistics.median(hand):.3f} s",
                          statistics.median(ratios), "at most 1.05x", statistics.median(ratios) <= 1.05))  # fmt: skip


if __name__ == "__main__":
    main()
