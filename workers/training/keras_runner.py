"""Keras: compile the generated model and `model.fit` it with a callback that reports.

Imported only inside the child process that runs one job.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from builder.codegen import generate_keras  # noqa: E402
from builder.codegen.guard import load_module  # noqa: E402
from builder.codegen.scripts.schedules import LearningRate  # noqa: E402
from workers.training import checkpoints  # noqa: E402
from workers.training.context import JobContext, JobError, Split  # noqa: E402
from workers.training.epoch_clock import EpochClock  # noqa: E402
from workers.training.reporter import EarlyStopping, Reporter  # noqa: E402


def setup_device(ctx: JobContext) -> str:
    """Pick the device (before any op runs), seed everything; returns the device's name."""
    if ctx.hp.device == "cpu":
        tf.config.set_visible_devices([], "GPU")
    gpus = tf.config.list_physical_devices("GPU")
    if ctx.hp.device == "cuda" and not gpus:
        raise JobError("The job asks for a CUDA device but this worker has none; use device auto or cpu.")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)  # share the card with nothing held back
    keras.utils.set_random_seed(ctx.hp.seed)
    tf.config.experimental.enable_op_determinism()
    if gpus and ctx.hp.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return "CPU"


def build(ctx: JobContext) -> keras.Model:
    source = generate_keras(ctx.spec)
    (ctx.job_dir / "model_keras.py").write_text(source)
    module = load_module(source, f"layerloom_job_{ctx.job_id}")
    model = module.build_model()
    model.compile(optimizer=optimizer(ctx), loss=loss(ctx), metrics=metrics(ctx))
    return model


def optimizer(ctx: JobContext) -> keras.optimizers.Optimizer:
    # global_clipnorm: all gradients scaled together, as torch's clip_grad_norm_ does
    # (Keras's clipnorm would clip each variable's gradient on its own).
    lr, name, clip = ctx.hp.learning_rate, ctx.hp.optimizer, {"global_clipnorm": ctx.hp.clipnorm}
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, **clip)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=0.01, **clip)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr, **clip)
    return keras.optimizers.Adam(learning_rate=lr, **clip)


class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing (Keras's sparse loss has none):
    the class index one-hot encoded, then categorical cross-entropy with label_smoothing."""

    def __init__(self, label_smoothing: float, from_logits: bool) -> None:
        super().__init__(name="sparse_categorical_crossentropy")
        self.label_smoothing, self.from_logits = label_smoothing, from_logits

    def call(self, y_true: Any, y_pred: Any) -> Any:
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        target = keras.ops.one_hot(labels, keras.ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            target, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )


def loss(ctx: JobContext) -> keras.losses.Loss:
    logits, smooth = ctx.output_kind == "linear", ctx.hp.label_smoothing
    if ctx.loss == "sparse_categorical_crossentropy":
        if smooth:
            return SmoothedSparseCrossentropy(smooth, logits)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
    if ctx.loss == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy(from_logits=logits, label_smoothing=smooth)
    return {"mse": keras.losses.MeanSquaredError, "mae": keras.losses.MeanAbsoluteError,
            "huber": keras.losses.Huber}[ctx.loss]()  # fmt: skip


def metrics(ctx: JobContext) -> list[Any]:
    if ctx.classification:
        if ctx.loss == "binary_crossentropy" and ctx.output_kind == "linear":  # one logit: positive means class 1
            return [keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)]
        return ["accuracy"]
    return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse")]


# --- checkpoints ---------------------------------------------------------------------------
def checkpoint_writer(model: keras.Model, ctx: JobContext, epoch: int, early: EarlyStopping,
                      rate: LearningRate) -> Callable[[], None]:  # fmt: skip
    """Everything the next epoch depends on: every model variable (weights, and the dropout layers'
    seed states), the optimizer's variables (step count included), Keras's global seed state,
    early stopping's and the learning-rate schedule's state; copied now, and the function that
    writes the copy (any time later)."""
    folder, name = ctx.checkpoint_dir, f"weights-{epoch}.npz"
    # np.array copies: training changes the variables in place while the copy is written.
    arrays = {f"v{i}": np.array(v) for i, v in enumerate(model.variables)}
    arrays.update({f"o{i}": np.array(v) for i, v in enumerate(model.optimizer.variables)})
    arrays["global_seed"] = np.array(global_seed_generator().state)
    state = {"framework": "keras", "epoch": epoch, "weights": name, "early": early.state(), "lr_schedule": rate.state()}
    rng = checkpoints.host_rng_state()

    def write_arrays(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)

    def write() -> None:
        checkpoints.atomic_write(folder / name, write_arrays)
        checkpoints.save_state(folder, ctx.checkpoint_owner, state, rng)
        checkpoints.remove_others(folder, "weights-*.npz", name)

    return write


def restore_checkpoint(model: keras.Model, ctx: JobContext, early: EarlyStopping, rate: LearningRate) -> int:
    """Load this job's last checkpoint into model and optimizer; the number of epochs it completed."""
    state = checkpoints.load_state(ctx.checkpoint_dir, "keras", ctx.checkpoint_owner)
    if state is None:
        return 0
    with np.load(ctx.checkpoint_dir / state["weights"]) as data:
        for i, variable in enumerate(model.variables):
            variable.assign(data[f"v{i}"])
        model.optimizer.build(model.trainable_variables)
        for i, variable in enumerate(model.optimizer.variables):
            variable.assign(data[f"o{i}"])
        global_seed_generator().state.assign(data["global_seed"])
    early.load(state.get("early", {}))
    rate.load(state.get("lr_schedule", {}))
    checkpoints.restore_host_rng(state)
    return int(state["epoch"])


def global_seed_generator() -> Any:
    """Keras's process-wide seed generator (drawn from by random ops given no generator of their own)."""
    from keras.src.random.seed_generator import global_seed_generator as generator

    return generator()


def best_writer(model: keras.Model, folder: Path) -> Callable[[], None]:
    """The weights of the best epoch so far (restore_best_weights), copied now; the function
    writes them beside the checkpoint."""
    arrays = {f"m{i}": np.array(w) for i, w in enumerate(model.get_weights())}

    def write_arrays(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)

    return lambda: checkpoints.atomic_write(folder / checkpoints.BEST_KERAS, write_arrays)


def restore_best(model: keras.Model, folder: Path) -> None:
    path = folder / checkpoints.BEST_KERAS
    if path.exists():
        with np.load(path) as data:
            model.set_weights([data[f"m{i}"] for i in range(len(model.get_weights()))])


# --- the callback ----------------------------------------------------------------------------
class Report(keras.callbacks.Callback):
    # Lets Keras dispatch batch ends on its helper thread instead of syncing every step:
    # batch_done only writes a few attributes, and stop_training is read after each batch.
    async_safe = True

    def __init__(self, ctx: JobContext, reporter: Reporter, early: EarlyStopping, train: Split, val: Split,
                 rate: LearningRate | None = None, writes: checkpoints.Background | None = None) -> None:  # fmt: skip
        super().__init__()
        self.ctx, self.reporter, self.early, self.train_size = ctx, reporter, early, len(train.X)
        # The epoch's metric row and checkpoint are written on this thread while the next epoch
        # trains; without one (a caller that waits), they are written at once.
        self.writes = writes
        self.train_y, self.val_y = train.y, val.y
        self.rate = rate or LearningRate("none", ctx.hp.learning_rate, ctx.hp.epochs)
        self.epoch_index, self.clock, self.trained = 0, EpochClock(), None
        self.complete = True

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.rate.schedule != "none":
            self.model.optimizer.learning_rate = self.rate.for_epoch(epoch)
        self.epoch_index, self.clock, self.trained = epoch, EpochClock(), None

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        # epoch_seconds is training time only (validation excluded), as in the torch loop.
        if self.trained is None:
            self.trained = self.clock.read()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.reporter.batch_done(self.epoch_index, batch + 1):
            self.complete = False
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self.complete:
            return  # a cancelled, partial epoch is not recorded
        took = self.trained or self.clock.read()
        values = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        values["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        values.update(took)
        seconds = took["epoch_seconds"]
        values["samples_per_second"] = self.train_size / seconds if seconds > 0 else 0.0
        self.ctx.epoch_in_target_units(values, self.train_y, self.val_y)
        writes = [functools.partial(self.reporter.epoch_done, epoch + 1, values)]
        stop = self.early.update(values.get("val_loss"))
        self.rate.epoch_end(values.get("val_loss", values.get("loss")))
        if checkpoints.keeps_best(self.ctx.hp.restore_best_weights, self.early, values.get("val_loss")):
            writes.append(best_writer(self.model, self.ctx.checkpoint_dir))
        writes.append(checkpoint_writer(self.model, self.ctx, epoch + 1, self.early, self.rate))
        for write in writes:
            if self.writes is not None:
                self.writes.submit(write)
            else:
                write()
        if stop:
            self.model.stop_training = True


def train(ctx: JobContext, train_split: Split, val: Split, reporter: Reporter) -> tuple[keras.Model, int]:
    """Fit; returns the model and the epoch it resumed from (0 for a fresh start)."""
    model = build(ctx)
    early = EarlyStopping(ctx.hp.patience)
    rate = LearningRate(ctx.hp.lr_schedule, ctx.hp.learning_rate, ctx.hp.epochs)
    start = restore_checkpoint(model, ctx, early, rate)
    if start < ctx.hp.epochs:
        steps = -(-len(train_split.X) // ctx.hp.batch_size)
        with checkpoints.Background() as writes:
            callback = Report(ctx, reporter, early, train_split, val, rate, writes)
            model.fit(
                batches(train_split, ctx.hp.batch_size, ctx.hp.seed, start), steps_per_epoch=steps,
                epochs=ctx.hp.epochs, initial_epoch=start, validation_data=(val.X, val.y) if len(val.X) else None,
                # fit is given a stream, not arrays, so it knows no batch size for the validation
                # arrays and would split them into batches of 32: validation then cost twice the
                # time of a hand-written fit(x, y, batch_size, validation_data=...). They go in
                # batches of the training batch size or 256, whichever is larger, as in torch jobs
                # (forward passes only: larger batches cost less per row).
                validation_batch_size=ctx.hp.inference_batch_size,
                verbose=0, callbacks=[callback],
                shuffle=False,  # the stream shuffles; fit's default would only warn that it ignores it
                class_weight=class_weight(ctx, train_split.y),
            )  # fmt: skip
        if callback.complete and ctx.hp.restore_best_weights and ctx.hp.patience is not None:
            restore_best(model, ctx.checkpoint_dir)
    return model, start


def class_weight(ctx: JobContext, train_y: np.ndarray) -> dict[int, float] | None:
    """class_weight "balanced" as Keras's fit takes it: class index -> weight."""
    weights = ctx.class_weights(train_y)
    return dict(enumerate(weights)) if weights is not None else None


def batches(split: Split, batch_size: int, seed: int, first_epoch: int = 0) -> tf.data.Dataset:
    """The training rows as one endless stream of batches, epoch `first_epoch` onwards.

    One iterator serves every epoch. `fit` on arrays makes a new one per epoch, and with
    two-thread pools on a 2-core machine a quarter of those epochs waited about 0.3 s for their
    first batch (docs/benchmarks.md). Each epoch is built the way `fit` builds it: one shuffled
    permutation, reshaped into full batches of indices (plus the partial last one), rows
    gathered a batch at a time on parallel calls. The permutation is a stateless function of
    (seed, epoch number), so a job resumed at epoch k replays exactly the order an
    uninterrupted run gives epoch k.
    """
    n = len(split.X)
    full = n // batch_size
    with tf.device("/CPU:0"):  # on a GPU machine the whole dataset stays in host memory
        X, y = tf.convert_to_tensor(split.X), tf.convert_to_tensor(split.y)

    def epoch(number: tf.Tensor) -> tf.data.Dataset:
        key = tf.stack([tf.constant(seed, tf.int64), number])
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=key)
        indices = tf.data.Dataset.from_tensor_slices(tf.reshape(order[: full * batch_size], [full, batch_size]))
        if n % batch_size:
            indices = indices.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size :]))
        return indices

    stream = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch)
    stream = stream.map(lambda index: (tf.gather(X, index), tf.gather(y, index)), num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False  # as `fit` does: no graph rewrite
    return stream.with_options(options).prefetch(tf.data.AUTOTUNE)


def predict(model: keras.Model, X: np.ndarray, batch_size: int) -> np.ndarray:
    return np.asarray(model.predict(X, batch_size=batch_size, verbose=0), dtype=np.float64)
