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
from model import INPUT_DTYPE, build_model

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
}


def loss_for(name: str, head: str, task: str) -> str | keras.losses.Loss:
    if name != "auto":
        return {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}.get(name, name)
    if task == "regression":
        return "mean_squared_error"
    if head == "sigmoid":
        return "binary_crossentropy"
    if head == "softmax":
        return "sparse_categorical_crossentropy"
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)  # a linear head gives logits


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
    classification = doc.get("task") != "regression"
    model.compile(
        optimizer=OPTIMIZERS[args.optimizer](learning_rate=args.learning_rate),
        loss=loss_for(args.loss, bundle["head"], doc.get("task", "classification")),
        metrics=["accuracy"] if classification else ["mean_absolute_error"],
    )
    if bundle["head"] == "sigmoid":
        y = y.astype("float32")  # binary cross-entropy compares with float targets
        validation = validation and (validation[0], validation[1].astype("float32"))
    model.fit(x.astype(INPUT_DTYPE), y, validation_data=validation, epochs=args.epochs, batch_size=args.batch_size)
    model.save_weights(args.output)
    print(f"weights written to {args.output}; predict with: python predict.py INPUT --weights {args.output}")


if __name__ == "__main__":
    main()
