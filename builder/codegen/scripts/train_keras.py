"""Train the Keras model in model.py again, on your own copy of the data.

    python train.py DATA [--validation DATA] [--epochs N] [--output model.weights.h5]

DATA is laid out like the upload the model was trained on: a CSV with the input columns
and the target column (tables), a CSV with the text and label columns (text), or a folder
with one sub-folder of images per class (images). Inputs are prepared with the fitted
preprocessing.json, so the new weights fit predict.py as they are. The defaults are the
settings of the Layerloom job (training.json).
"""

from __future__ import annotations

import dataio
import keras
import schedules
from model import INPUT_DTYPE, build_model

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
}


class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing: one-hot, then categorical."""

    def __init__(self, label_smoothing: float, from_logits: bool) -> None:
        super().__init__(name="sparse_categorical_crossentropy")
        self.label_smoothing, self.from_logits = label_smoothing, from_logits

    def call(self, y_true, y_pred):  # noqa: ANN001, ANN201 - Keras's signature
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        target = keras.ops.one_hot(labels, keras.ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            target, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )


def loss_for(name: str, head: str, task: str, smooth: float, units: int) -> str | keras.losses.Loss:
    """Each head is trained on the probabilities heads.py reads from it (Layerloom's jobs do the same)."""
    if name in ("mse", "mae", "huber") or (name == "auto" and task == "regression"):
        return {"mae": "mean_absolute_error", "huber": "huber"}.get(name, "mean_squared_error")
    if units == 1 or name == "binary_crossentropy":  # one unit: the second class's probability or logit
        return keras.losses.BinaryCrossentropy(from_logits=head == "linear", label_smoothing=smooth)
    # Several units: softmax probabilities, or sigmoids that Keras's cross-entropy normalises to their shares.
    if smooth:
        return SmoothedSparseCrossentropy(smooth, from_logits=head == "linear")
    return keras.losses.SparseCategoricalCrossentropy(from_logits=head == "linear")  # a linear head gives logits


def accuracy(head: str, units: int) -> str | keras.metrics.Metric:
    """A logit of the second class is positive for it; other heads: Keras picks the matching accuracy."""
    return keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0) if units == 1 and head == "linear" else "accuracy"


class Schedule(keras.callbacks.Callback):
    """The learning rate of each epoch from schedules.py, as the Layerloom job set it."""

    def __init__(self, rate: schedules.LearningRate) -> None:
        super().__init__()
        self.rate = rate

    def on_epoch_begin(self, epoch, logs=None):  # noqa: ANN001, ANN201 - Keras's signature
        self.model.optimizer.learning_rate = self.rate.for_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001, ANN201 - Keras's signature
        logs = logs or {}
        self.rate.epoch_end(logs.get("val_loss", logs.get("loss")))


def main() -> None:
    settings = dataio.load_json("training.json")
    args = dataio.train_arguments(__doc__, settings, sorted(OPTIMIZERS), "model.weights.h5")
    bundle = dataio.load_json("bundle.json")
    doc = dataio.load_json("preprocessing.json")
    x, y = dataio.read_labelled(doc, args.data)
    validation = None
    if args.validation:
        x_val, y_val = dataio.read_labelled(doc, args.validation)
        validation = (x_val.astype(INPUT_DTYPE), y_val)

    keras.utils.set_random_seed(args.seed)
    model = build_model()
    units = int(model.output_shape[-1])
    classification = doc.get("task") != "regression"
    model.compile(
        # global_clipnorm: all gradients scaled together, as torch's clip_grad_norm_ does
        optimizer=OPTIMIZERS[args.optimizer](learning_rate=args.learning_rate, global_clipnorm=args.clipnorm),
        loss=loss_for(args.loss, bundle["head"], doc.get("task", "classification"), args.label_smoothing, units),
        metrics=[accuracy(bundle["head"], units)] if classification else ["mean_absolute_error"],
    )
    class_weight = None
    if args.class_weight == "balanced" and classification:
        classes = max(2, len(doc.get("class_names") or []))
        class_weight = dict(enumerate(schedules.balanced_class_weights(y, classes)))
    if units == 1:
        y = y.astype("float32")  # binary cross-entropy compares with float targets
        validation = validation and (validation[0], validation[1].astype("float32"))
    callbacks = [Schedule(schedules.LearningRate(args.lr_schedule, args.learning_rate, args.epochs))]
    if validation is not None and args.patience:
        callbacks.append(keras.callbacks.EarlyStopping(patience=args.patience, restore_best_weights=True))
    model.fit(x.astype(INPUT_DTYPE), y, validation_data=validation, epochs=args.epochs, batch_size=args.batch_size,
              class_weight=class_weight, callbacks=callbacks)  # fmt: skip
    model.save_weights(args.output)
    print(f"weights written to {args.output}; predict with: python predict.py INPUT --weights {args.output}")


if __name__ == "__main__":
    main()
