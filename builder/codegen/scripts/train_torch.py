"""Train the PyTorch model in model.py again, on your own copy of the data.

    python train.py DATA [--validation DATA] [--epochs N] [--output model.safetensors]

DATA is laid out like the upload the model was trained on: a CSV with the input columns
and the target column (tables), a CSV with the text and label columns (text), or a folder
with one sub-folder of images per class (images). Inputs are prepared with the fitted
preprocessing.json, so the new weights fit predict.py as they are. The defaults are the
settings of the Layerloom job (training.json).
"""

from __future__ import annotations

import argparse

import dataio
import numpy as np
import schedules
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


def sample_losses(args: argparse.Namespace, head: str, task: str, output: torch.Tensor,
                  target: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """One loss per sample, label smoothing applied as Keras applies it."""
    # forward() ends with the model's activation, so a softmax head returns probabilities.
    name, smooth = args.loss, args.label_smoothing
    if name in ("mse", "mae", "huber") or (name == "auto" and task == "regression"):
        output = output.squeeze(-1) if output.shape[-1] == 1 else output
        losses = {"mae": F.l1_loss, "huber": F.huber_loss}
        return losses.get(name, F.mse_loss)(output, target.float(), reduction="none")
    # Each head is trained on the probabilities heads.py reads from it (Layerloom's jobs do the same).
    if output.shape[-1] == 1:  # one unit: the second class's probability (sigmoid) or its logit (linear)
        smoothed = target.float() * (1.0 - smooth) + 0.5 * smooth
        if head == "sigmoid":
            return F.binary_cross_entropy(output.squeeze(-1).clamp(EPSILON, 1 - EPSILON), smoothed, reduction="none")
        return F.binary_cross_entropy_with_logits(output.squeeze(-1), smoothed, reduction="none")
    target = target.long()
    if head in ("softmax", "sigmoid"):
        log_p = torch.log(output.clamp(EPSILON, 1.0 - EPSILON if smooth else 1.0))
        if head == "sigmoid":  # one sigmoid per class: each one's share of their sum
            log_p = log_p - torch.logsumexp(log_p, dim=1, keepdim=True)
        nll = -log_p.gather(1, target.reshape(-1, 1)).reshape(-1)
        return (1.0 - smooth) * nll - smooth * log_p.mean(1)
    return F.cross_entropy(output, target, reduction="none", label_smoothing=smooth)  # a linear head gives logits


def loss_fn(args: argparse.Namespace, head: str, task: str, output: torch.Tensor, target: torch.Tensor,
            weights: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """The mean loss; with class weights each sample's loss is weighed by its class's (Keras's class_weight)."""
    losses = sample_losses(args, head, task, output, target)
    return (losses * weights[target.long()]).mean() if weights is not None else losses.mean()


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
    rate = schedules.LearningRate(args.lr_schedule, args.learning_rate, args.epochs)
    weights = None
    if args.class_weight == "balanced" and task != "regression":
        classes = max(2, len(doc.get("class_names") or []))
        weights = torch.tensor(schedules.balanced_class_weights(y, classes), dtype=torch.float32)
    batches = DataLoader(TensorDataset(to_tensor(x), torch.from_numpy(y)), batch_size=args.batch_size, shuffle=True)
    best, best_loss, wait = None, None, 0
    for epoch in range(1, args.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = rate.for_epoch(epoch - 1)
        model.train()
        total = 0.0
        for xb, yb in batches:
            optimizer.zero_grad()
            loss = loss_fn(args, head, task, model(xb), yb, weights)
            loss.backward()
            if args.clipnorm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clipnorm)
            optimizer.step()
            total += loss.item() * len(xb)
        monitored = total / len(x)
        line = f"epoch {epoch}/{args.epochs}: loss {monitored:.4f}"
        if validation is not None:
            model.eval()
            with torch.no_grad():
                val_out = model(to_tensor(validation[0]))
                monitored = float(loss_fn(args, head, task, val_out, torch.from_numpy(validation[1])))
            line += f", val_loss {monitored:.4f}"
        print(line + f", learning_rate {optimizer.param_groups[0]['lr']:.6g}")
        rate.epoch_end(monitored)
        if validation is not None and args.patience:
            if best_loss is None or monitored < best_loss:  # early stopping keeps the best epoch's weights
                best_loss, wait = monitored, 0
                best = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                wait += 1
                if wait >= args.patience:
                    print(f"no better validation loss for {wait} epochs: stopping")
                    break
    if best is not None:
        model.load_state_dict(best)
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(args.output))
    print(f"weights written to {args.output}; predict with: python predict.py INPUT --weights {args.output}")


if __name__ == "__main__":
    main()
