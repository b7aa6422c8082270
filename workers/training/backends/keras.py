"""Keras: the generated model compiled and `model.fit` over one endless batch stream, with a
callback that hands every epoch to the shared bookkeeping.

Imported only inside the child process that runs one job (TensorFlow comes with it).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from builder.codegen.frameworks import KERAS  # noqa: E402
from builder.spec.inference import without_augmentation  # noqa: E402
from workers.training import checkpoints, keras_runner  # noqa: E402
from workers.training.backends import keras_export, threads  # noqa: E402
from workers.training.backends.base import Backend, NativeExport  # noqa: E402
from workers.training.bookkeeping import EpochBook  # noqa: E402
from workers.training.context import JobError, Split  # noqa: E402
from workers.training.reporter import Reporter  # noqa: E402

log = logging.getLogger(__name__)


class Report(keras.callbacks.Callback):
    """fit's epochs and batches, handed to the bookkeeping; the metric values from fit's logs."""

    # Lets Keras dispatch batch ends on its helper thread instead of syncing every step:
    # batch_done only writes a few attributes, and stop_training is read after each batch.
    async_safe = True

    def __init__(self, book: EpochBook, snapshots: keras_runner.Snapshots) -> None:
        super().__init__()
        self.book, self.snapshots, self.epoch_index = book, snapshots, 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        rate = self.book.begin(epoch)
        if self.book.rate.schedule != "none":
            self.model.optimizer.learning_rate = rate
        self.epoch_index = epoch

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.book.trained()  # epoch_seconds is training time only (validation excluded)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.book.batch_done(self.epoch_index, batch + 1):
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self.book.complete:
            return  # a cancelled, partial epoch is not recorded
        values = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        values["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        if self.book.end(epoch, values, self.snapshots):
            self.model.stop_training = True


class KerasBackend(Backend):
    framework = KERAS

    def setup_device(self) -> str:
        """Pick the device (before any op runs), seed everything; returns the device's name."""
        hp = self.ctx.hp
        self.size_threads()
        if hp.device == "cpu":
            tf.config.set_visible_devices([], "GPU")
        gpus = tf.config.list_physical_devices("GPU")
        if hp.device == "cuda" and not gpus:
            raise JobError("The job asks for a CUDA device but this worker has none; use device auto or cpu.")
        for gpu in gpus:
            tf.config.experimental.set_memory_growth(gpu, True)  # share the card with nothing held back
        keras.utils.set_random_seed(hp.seed)
        tf.config.experimental.enable_op_determinism()
        if gpus and hp.mixed_precision:
            keras.mixed_precision.set_global_policy("mixed_float16")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return f"GPU: {details.get('device_name', gpus[0].name)}"
        return "CPU"

    def size_threads(self) -> None:
        """The thread pools threads.py gives this process (TF_NUM_*_THREADS, when set, win); settable
        only before TensorFlow runs its first op. Logged for the worker's log."""
        size = threads.configured_threads()
        tf.config.threading.set_intra_op_parallelism_threads(threads.pool_size("TF_NUM_INTRAOP_THREADS", size))
        tf.config.threading.set_inter_op_parallelism_threads(threads.pool_size("TF_NUM_INTEROP_THREADS", size))
        log.info("job %s: TensorFlow threads: %d intra-op, %d inter-op", self.ctx.job_id,
                 tf.config.threading.get_intra_op_parallelism_threads(),
                 tf.config.threading.get_inter_op_parallelism_threads())  # fmt: skip

    def build(self) -> keras.Model:
        ctx = self.ctx
        model = self.generated_module().build_model()
        model.compile(optimizer=keras_runner.optimizer(ctx), loss=keras_runner.loss(ctx),
                      metrics=keras_runner.metrics(ctx))  # fmt: skip
        return model

    def train(self, train: Split, val: Split, reporter: Reporter) -> tuple[keras.Model, int]:
        """One `fit` over every epoch (a fit per epoch would rebuild its iterator each time)."""
        ctx = self.ctx
        model = self.build()
        snapshots = keras_runner.Snapshots(model, ctx)
        with checkpoints.Background() as writes:
            book = EpochBook(ctx, reporter, train, val, writes)
            start = book.resume(snapshots)
            if start >= ctx.hp.epochs:
                return model, start
            model.fit(
                keras_runner.batches(train, ctx.hp.batch_size, ctx.hp.seed, start),
                steps_per_epoch=-(-len(train.X) // ctx.hp.batch_size), epochs=ctx.hp.epochs, initial_epoch=start,
                validation_data=(val.X, val.y) if len(val.X) else None,
                # fit is given a stream, not arrays, so it knows no batch size for the validation
                # arrays and would split them into batches of 32: validation then cost twice the
                # time of a hand-written fit(x, y, batch_size, validation_data=...). They go in
                # batches of the training batch size or 256, whichever is larger, as in torch jobs
                # (forward passes only: larger batches cost less per row).
                validation_batch_size=ctx.hp.inference_batch_size,
                verbose=0, callbacks=[Report(book, snapshots)],
                shuffle=False,  # the stream shuffles; fit's default would only warn that it ignores it
                class_weight=keras_runner.class_weight(ctx, train.y),
            )  # fmt: skip
        book.finish(snapshots)
        return model, start

    def predict(self, model: keras.Model, X: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(X, batch_size=self.ctx.hp.inference_batch_size, verbose=0), dtype=np.float64)

    def timed_steps(self, head: Split) -> tuple[list[float], int | None]:
        model = self.build()
        gpu = self.device_name.startswith("GPU")
        if gpu:
            tf.config.experimental.reset_memory_stats("GPU:0")
        times, size = [], self.ctx.hp.batch_size
        for start in range(0, len(head.X), size):
            began = time.perf_counter()
            model.train_on_batch(head.X[start : start + size], head.y[start : start + size])
            times.append(time.perf_counter() - began)
        return times, int(tf.config.experimental.get_memory_info("GPU:0")["peak"]) if gpu else None

    @classmethod
    def export_native(cls, model: Any, source: str, spec: dict[str, Any], sample: np.ndarray, out_dir: Path,
                      work: Path) -> NativeExport:  # fmt: skip
        # The files hold the inference model: Keras would trace augmentation's random ops.
        inference = without_augmentation(spec)
        files_source = source if inference == spec else cls.framework.generate(inference)
        files, weights, reference, exporter = keras_export.export_files(model, files_source, sample, out_dir, work)
        if files_source != source:  # the bundle's weights file fits its model.py, the trained module
            weights = keras_export.bundle_weights(model, source, work)
        return files, weights, reference, exporter


BACKEND = KerasBackend
