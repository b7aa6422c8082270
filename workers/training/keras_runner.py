"""Keras's side of a job in its own idiom: optimizer, loss and metrics as `compile` takes them,
the batch stream `fit` reads, and the checkpoint and best-weights state. The Keras backend
(backends/keras.py) puts them together.

Imported only inside the child process that runs one job.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from builder.codegen.scripts.schedules import LearningRate  # noqa: E402
from workers.training import checkpoints  # noqa: E402
from workers.training.context import JobContext, Split  # noqa: E402
from workers.training.reporter import EarlyStopping  # noqa: E402


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
    # Copies: training changes the variables in place while the copy is written. numpy() and not
    # np.array(variable), whose __array__ numpy 2 warns about (it takes no copy argument).
    arrays = {f"v{i}": v.numpy().copy() for i, v in enumerate(model.variables)}
    arrays.update({f"o{i}": v.numpy().copy() for i, v in enumerate(model.optimizer.variables)})
    arrays["global_seed"] = global_seed_generator().state.numpy().copy()
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


class Snapshots:
    """The model's state for the shared bookkeeping: checkpoints and best weights, copied and restored."""

    def __init__(self, model: keras.Model, ctx: JobContext) -> None:
        self.model, self.ctx = model, ctx

    def checkpoint(self, epoch: int, early: EarlyStopping, rate: LearningRate) -> Callable[[], None]:
        return checkpoint_writer(self.model, self.ctx, epoch, early, rate)

    def best(self) -> Callable[[], None]:
        return best_writer(self.model, self.ctx.checkpoint_dir)

    def restore_checkpoint(self, early: EarlyStopping, rate: LearningRate) -> int:
        return restore_checkpoint(self.model, self.ctx, early, rate)

    def restore_best(self) -> None:
        restore_best(self.model, self.ctx.checkpoint_dir)


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
