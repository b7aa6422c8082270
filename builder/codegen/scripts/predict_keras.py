"""Predict with the trained Keras model.

    python predict.py INPUT [INPUT ...] [--output predictions.csv]

INPUT is what the model was trained on, as you have it: a CSV file for a table (the same
columns as the training file), a CSV or a text file with one text per line for text, or
image files and folders of images. Each input is prepared with preprocessing.json, as
in training, and one CSV row per input is printed: the predicted label, its probability
and the probability of every class (or the predicted value, for regression).
"""

from __future__ import annotations

import dataio
import numpy as np
from model import INPUT_DTYPE, build_model


def main() -> None:
    args = dataio.predict_arguments(__doc__)
    bundle = dataio.load_json("bundle.json")
    doc = dataio.load_json(args.preprocessing)
    ids, records = dataio.read_inputs(doc, args.inputs)
    x = dataio.transform(doc, records).astype(INPUT_DTYPE)

    # model.py is the code Layerloom trained; the weights are the ones it learned.
    model = build_model()
    model.load_weights(args.weights)
    outputs = np.asarray(model.predict(x, batch_size=args.batch_size, verbose=0))
    dataio.report(doc, bundle["head"], ids, outputs, args.output)


if __name__ == "__main__":
    main()
