"""torch: a plain training loop over a DataLoader, in the generated nn.Module.

Imported only inside the child process that runs one job.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from builder.codegen import generate_torch, torch_input_permutation
from builder.codegen.guard import load_module
from workers.training import checkpoints
from workers.training.context import JobContext, JobError, Split
from workers.training.reporter import EarlyStopping, Reporter

EPS = 1e-7  # Keras's probability clip, so both frameworks report the same loss


def setup_device(ctx: JobContext) -> tuple[torch.device, str]:
    cuda = torch.cuda.is_available() and ctx.hp.device != "cpu"
    if ctx.hp.device == "cuda" and not torch.cuda.is_available():
        raise JobError("The job asks for a CUDA device but this worker has none; use device auto or cpu.")
    torch.manual_seed(ctx.hp.seed)
    np.random.seed(ctx.hp.seed)
    torch.use_deterministic_algorithms(True, warn_only=cuda)  # some CUDA kernels have no deterministic form
    if cuda:
        return torch.device("cuda:0"), f"GPU: {torch.cuda.get_device_name(0)}"
    return torch.device("cpu"), "CPU"


def build(ctx: JobContext, device: torch.device) -> torch.nn.Module:
    source = generate_torch(ctx.spec)
    (ctx.job_dir / "model_torch.py").write_text(source)
    module = load_module(source, f"layerloom_job_{ctx.job_id}")
    return module.build_model().to(device)


def optimizer(ctx: JobContext, model: torch.nn.Module) -> torch.optim.Optimizer:
    lr, name, params = ctx.hp.learning_rate, ctx.hp.optimizer, model.parameters()
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.01, eps=EPS)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=EPS)  # Keras's rho and epsilon
    return torch.optim.Adam(params, lr=lr, eps=EPS)


def loss_fn(ctx: JobContext) -> Any:
    """Loss on the model's outputs (the generated forward applies the final activation)."""
    kind = ctx.output_kind
    if ctx.loss == "sparse_categorical_crossentropy":
        if kind == "linear":
            return F.cross_entropy
        return lambda out, y: F.nll_loss(torch.log(out.clamp(EPS, 1.0)), y)
    if ctx.loss == "binary_crossentropy":
        if kind == "linear":
            return lambda out, y: F.binary_cross_entropy_with_logits(out.reshape(-1), y)
        return lambda out, y: F.binary_cross_entropy(out.reshape(-1).clamp(EPS, 1 - EPS), y)
    base = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}[ctx.loss]
    return lambda out, y: base(out.reshape(-1), y)


class ShuffledBatches(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Item i is the i-th batch of this epoch's permutation: one slice per batch, no per-sample collate."""

    def __init__(self, split: Split, batch_size: int, generator: torch.Generator | None) -> None:
        self.X, self.y = torch.from_numpy(split.X), torch.from_numpy(split.y)
        self.batch_size, self.generator = batch_size, generator
        self.order: torch.Tensor | None = None

    def __len__(self) -> int:
        return -(-len(self.X) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if index == 0 and self.generator is not None:
            self.order = torch.randperm(len(self.X), generator=self.generator)
        start = index * self.batch_size
        if self.order is None:
            return self.X[start : start + self.batch_size], self.y[start : start + self.batch_size]
        rows = self.order[start : start + self.batch_size]
        return self.X[rows], self.y[rows]


def loader(split: Split, batch_size: int, generator: torch.Generator | None) -> DataLoader[Any]:
    return DataLoader(ShuffledBatches(split, batch_size, generator), batch_size=None, shuffle=False)


class Batches:
    """Counts what each epoch saw: summed loss, correct predictions, absolute and squared errors."""

    def __init__(self, classification: bool, kind: str) -> None:
        self.classification, self.kind = classification, kind
        # Summed as tensors and read once per epoch: no host sync per batch.
        self.n = 0
        self.loss = self.correct = self.abs = self.sq = torch.zeros((), dtype=torch.float64)

    def add(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        n = len(y)
        self.n += n
        self.loss = self.loss + loss.double() * n
        if self.classification:
            threshold = 0.5 if self.kind == "sigmoid" else 0.0
            pred = (out.reshape(-1) > threshold).long() if out.shape[-1] == 1 else out.argmax(1)
            self.correct = self.correct + (pred == y.long()).sum()
        else:
            diff = (out.reshape(-1) - y).double()
            self.abs = self.abs + diff.abs().sum()
            self.sq = self.sq + (diff * diff).sum()

    def values(self, prefix: str = "") -> dict[str, float]:
        n = max(1, self.n)
        if self.classification:
            return {f"{prefix}loss": float(self.loss) / n, f"{prefix}accuracy": float(self.correct) / n}
        return {f"{prefix}loss": float(self.loss) / n, f"{prefix}mae": float(self.abs) / n,
                f"{prefix}rmse": (float(self.sq) / n) ** 0.5}  # fmt: skip


def to_input(x: torch.Tensor, perm: tuple[int, ...] | None, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.permute(*perm).contiguous() if perm else x


# --- checkpoints ---------------------------------------------------------------------------
def save_checkpoint(model: torch.nn.Module, opt: torch.optim.Optimizer, folder: Path, epoch: int,
                    early: EarlyStopping) -> None:  # fmt: skip
    name = f"state-{epoch}.pt"
    payload = {"model": model.state_dict(), "optimizer": opt.state_dict()}
    checkpoints.atomic_write(folder / name, lambda tmp: torch.save(payload, tmp))
    checkpoints.save_state(folder, {"framework": "torch", "epoch": epoch, "weights": name, "early": early.state()})
    for old in folder.glob("state-*.pt"):
        if old.name != name:
            old.unlink(missing_ok=True)


def restore_checkpoint(model: torch.nn.Module, opt: torch.optim.Optimizer, folder: Path, early: EarlyStopping) -> int:
    state = checkpoints.load_state(folder, "torch")
    if state is None:
        return 0
    payload = torch.load(folder / state["weights"], map_location="cpu", weights_only=True)
    model.load_state_dict(payload["model"])
    opt.load_state_dict(payload["optimizer"])
    early.load(state.get("early", {}))
    return int(state["epoch"])


def train(ctx: JobContext, train_split: Split, val: Split, reporter: Reporter,
          device: torch.device) -> tuple[torch.nn.Module, int]:  # fmt: skip
    model = build(ctx, device)
    opt = optimizer(ctx, model)
    early = EarlyStopping(ctx.hp.patience)
    start = restore_checkpoint(model, opt, ctx.checkpoint_dir, early)
    criterion, perm = loss_fn(ctx), torch_input_permutation(ctx.spec)
    generator = torch.Generator()
    batches = loader(train_split, ctx.hp.batch_size, generator)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and ctx.hp.mixed_precision)
    amp = device.type == "cuda" and ctx.hp.mixed_precision
    for epoch in range(start, ctx.hp.epochs):
        generator.manual_seed(ctx.hp.seed * 100_003 + epoch)  # a resumed epoch shuffles as the first run did
        began, seen = time.perf_counter(), Batches(ctx.classification, ctx.output_kind)
        model.train()
        for index, (xb, yb) in enumerate(batches):
            xb, yb = to_input(xb, perm, device), yb.to(device, non_blocking=True)
            with torch.autocast(device.type, enabled=amp):
                out = model(xb)
                loss = criterion(out.float(), yb)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            seen.add(out.detach(), yb, loss.detach())
            if reporter.batch_done(epoch, index + 1):
                return model, start
        seconds = time.perf_counter() - began
        values = seen.values()
        if len(val.X):
            values.update(evaluate_split(model, val, ctx, criterion, perm, device).values("val_"))
        values.update({"learning_rate": opt.param_groups[0]["lr"], "epoch_seconds": seconds,
                       "samples_per_second": seen.n / seconds if seconds > 0 else 0.0})  # fmt: skip
        reporter.epoch_done(epoch + 1, values)
        save_checkpoint(model, opt, ctx.checkpoint_dir, epoch + 1, early)
        if early.update(values.get("val_loss")):
            break
    return model, start


@torch.no_grad()
def evaluate_split(model: torch.nn.Module, split: Split, ctx: JobContext, criterion: Any,
                   perm: tuple[int, ...] | None, device: torch.device) -> Batches:  # fmt: skip
    model.eval()
    seen = Batches(ctx.classification, ctx.output_kind)
    for xb, yb in loader(split, max(ctx.hp.batch_size, 256), None):
        xb, yb = to_input(xb, perm, device), yb.to(device)
        out = model(xb).float()
        seen.add(out, yb, criterion(out, yb))
    return seen


@torch.no_grad()
def predict(model: torch.nn.Module, X: np.ndarray, ctx: JobContext, device: torch.device) -> np.ndarray:
    model.eval()
    perm, outputs = torch_input_permutation(ctx.spec), []
    for start in range(0, len(X), max(ctx.hp.batch_size, 256)):
        xb = to_input(torch.from_numpy(X[start : start + max(ctx.hp.batch_size, 256)]), perm, device)
        outputs.append(model(xb).float().cpu().numpy())
    return np.concatenate(outputs).astype(np.float64) if outputs else np.zeros((0, 1))
