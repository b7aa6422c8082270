"""Predict with the trained PyTorch model.

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
import torch
from model import INPUT_DTYPE, INPUT_PERMUTATION, build_model
from safetensors.torch import load_file


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """A batch as preprocessing.json makes it (channels-last) -> the layout forward() reads."""
    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=INPUT_DTYPE))
    return tensor.permute(*INPUT_PERMUTATION) if INPUT_PERMUTATION else tensor


def main() -> None:
    args = dataio.predict_arguments(__doc__)
    bundle = dataio.load_json("bundle.json")
    doc = dataio.load_json(args.preprocessing)
    ids, records = dataio.read_inputs(doc, args.inputs)
    x = dataio.transform(doc, records)

    # model.py is the code Layerloom trained; the weights are the ones it learned.
    model = build_model()
    model.load_state_dict(load_file(args.weights))
    model.eval()
    with torch.no_grad():
        outputs = [model(to_tensor(x[i : i + args.batch_size])).numpy() for i in range(0, len(x), args.batch_size)]
    dataio.report(doc, bundle["head"], ids, np.concatenate(outputs), args.output)


if __name__ == "__main__":
    main()
