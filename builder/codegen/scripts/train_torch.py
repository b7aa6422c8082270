"""Train the PyTorch model in model.py again, on your own copy of the data.

    python train.py DATA [--validation DATA] [--epochs N] [--output model.safetensors]

DATA is laid out like the upload the model was trained on: a CSV with the input columns
and the target column (tables), a CSV with the text and label columns (text), or a folder
with one sub-folder of images per class (images). Inputs are prepared with the fitted
preprocessing.json, so the new weights fit predict.py as they are. The defaults are the
settings of the Layerloom job (training.json).
"""

from __future__ import annotations

import dataio
import numpy as np
import torch
import torch.nn.functional as F
from model import INPUT_DTYPE, INPUT_PERMUTATION, build_model
from safetensors.torch import save_file
from torch.utils.data import DataLoader, TensorDataset

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
}
EPSILON = 1e-7  # Keras clips probabilities by the same amount before taking logs


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """A batch as preprocessing.json makes it (channels-last) -> the layout forward() reads."""
    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=INPUT_DTYPE))
    return tensor.permute(*INPUT_PERMUTATION) if INPUT_PERMUTATION else tensor


def loss_fn(name: str, head: str, task: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # forward() ends with the model's activation, so a softmax head returns probabilities.
    if name in ("mse", "mae", "huber") or (name == "auto" and task == "regression"):
        output = output.squeeze(-1) if output.shape[-1] == 1 else output
        losses = {"mae": F.l1_loss, "huber": F.huber_loss}
        return losses.get(name, F.mse_loss)(output, target.float())
    if head == "sigmoid":
        return F.binary_cross_entropy(output.squeeze(-1).clamp(EPSILON, 1 - EPSILON), target.float())
    if head == "softmax":
        return F.nll_loss(torch.log(output.clamp(EPSILON, 1.0)), target)
    return F.cross_entropy(output, target)  # a linear head gives logits


def main() -> None:
    settings = dataio.load_json("training.json")
    args = dataio.train_arguments(__doc__, settings, sorted(OPTIMIZERS), "model.safetensors")
    head = dataio.load_json("bundle.json")["head"]
    doc = dataio.load_json("preprocessing.json")
    task = doc.get("task", "classification")
    x, y = dataio.read_labelled(doc, args.data)
    validation = dataio.read_labelled(doc, args.validation) if args.validation else None

    torch.manual_seed(args.seed)
    model = build_model()
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), lr=args.learning_rate)
    batches = DataLoader(TensorDataset(to_tensor(x), torch.from_numpy(y)), batch_size=args.batch_size, shuffle=True)
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        for xb, yb in batches:
            optimizer.zero_grad()
            loss = loss_fn(args.loss, head, task, model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        line = f"epoch {epoch}/{args.epochs}: loss {total / len(x):.4f}"
        if validation is not None:
            model.eval()
            with torch.no_grad():
                val_out = model(to_tensor(validation[0]))
                line += f", val_loss {loss_fn(args.loss, head, task, val_out, torch.from_numpy(validation[1])):.4f}"
        print(line)
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(args.output))
    print(f"weights written to {args.output}; predict with: python predict.py INPUT --weights {args.output}")


if __name__ == "__main__":
    main()
