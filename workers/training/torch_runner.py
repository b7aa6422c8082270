"""torch's side of a job in its own idiom: optimizer, losses, the in-memory DataLoader, the
training step, the epoch's metrics, and the checkpoint and best-weights state. The torch
backend (backends/torch.py) puts them together into the loop.

Imported only inside the child process that runs one job.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from builder.codegen.scripts.schedules import LearningRate
from workers.training import checkpoints
from workers.training.context import JobContext, Split
from workers.training.reporter import EarlyStopping

EPS = 1e-7  # Keras's probability clip, so both frameworks report the same loss


def optimizer(ctx: JobContext, model: torch.nn.Module) -> torch.optim.Optimizer:
    return make_optimizer(ctx.hp.optimizer, ctx.hp.learning_rate, model.parameters())


def make_optimizer(name: str, lr: float, params: Any) -> torch.optim.Optimizer:
    """An optimizer in torch's fused form where it has one.

    Fused, each parameter is updated by one kernel instead of a dozen small ops: a quarter
    off a small MLP's training step on the CPU here, the same update to float rounding.
    RMSprop has no fused form.
    """
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, fused=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.01, eps=EPS, fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=EPS)  # Keras's rho and epsilon
    return torch.optim.Adam(params, lr=lr, eps=EPS, fused=True)


Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_fn(ctx: JobContext) -> Loss:
    """Mean loss on the model's outputs (the generated forward applies the final activation)."""
    if ctx.loss in ("sparse_categorical_crossentropy", "binary_crossentropy") and ctx.hp.label_smoothing:
        per_sample = sample_losses(ctx)
        return lambda out, y: per_sample(out, y).mean()
    kind = ctx.output_kind
    if ctx.loss == "sparse_categorical_crossentropy":
        if kind == "linear":
            return F.cross_entropy
        if kind == "sigmoid":  # one sigmoid per class: each one's share of their sum, as heads.py reads it
            return lambda out, y: F.cross_entropy(torch.log(out.clamp(EPS, 1.0)), y)
        return lambda out, y: F.nll_loss(torch.log(out.clamp(EPS, 1.0)), y)
    if ctx.loss == "binary_crossentropy":
        if kind == "linear":
            return lambda out, y: F.binary_cross_entropy_with_logits(out.reshape(-1), y)
        return lambda out, y: F.binary_cross_entropy(out.reshape(-1).clamp(EPS, 1 - EPS), y)
    base = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}[ctx.loss]
    return lambda out, y: base(out.reshape(-1), y)


def sample_losses(ctx: JobContext) -> Loss:
    """One loss per sample, with label smoothing as Keras applies it.

    Smoothed, a sparse target becomes (1 - s) on its class plus s / classes everywhere
    (a probability head clipped to [EPS, 1 - EPS], as Keras's categorical cross-entropy
    does); a binary target y becomes y (1 - s) + s / 2.
    """
    kind, smooth = ctx.output_kind, ctx.hp.label_smoothing
    if ctx.loss == "sparse_categorical_crossentropy":
        if kind == "linear":
            return lambda out, y: F.cross_entropy(out, y, reduction="none", label_smoothing=smooth)

        def smoothed_nll(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            log_p = torch.log(out.clamp(EPS, 1.0 - EPS if smooth else 1.0))
            if kind == "sigmoid":  # shares of the sum, as Keras's categorical cross-entropy normalises
                log_p = log_p - torch.logsumexp(log_p, dim=1, keepdim=True)
            nll = -log_p.gather(1, y.reshape(-1, 1)).reshape(-1)
            return (1.0 - smooth) * nll - smooth * log_p.mean(1) if smooth else nll

        return smoothed_nll
    if ctx.loss == "binary_crossentropy":

        def smoothed_bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            target = y * (1.0 - smooth) + 0.5 * smooth
            if kind == "linear":
                return F.binary_cross_entropy_with_logits(out.reshape(-1), target, reduction="none")
            return F.binary_cross_entropy(out.reshape(-1).clamp(EPS, 1 - EPS), target, reduction="none")

        return smoothed_bce
    base = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}[ctx.loss]
    return lambda out, y: base(out.reshape(-1), y, reduction="none")


def training_loss(ctx: JobContext, train_y: np.ndarray, device: torch.device) -> Loss:
    """The loss the optimizer minimises: the mean loss, or with class_weight "balanced" each
    sample's loss times its class's weight, summed over the batch size (Keras's class_weight)."""
    balanced = ctx.class_weights(train_y)
    if balanced is None:
        return loss_fn(ctx)
    weights = torch.tensor(balanced, dtype=torch.float32, device=device)
    per_sample = sample_losses(ctx)
    return lambda out, y: (per_sample(out, y) * weights[y.long()]).mean()


def set_learning_rate(opt: torch.optim.Optimizer, rate: float) -> None:
    for group in opt.param_groups:
        group["lr"] = rate


class Batches(Sampler[Any]):
    """Whole batches of row positions for a DataLoader: slices in order, or shuffled index tensors.

    The in-memory dataset then takes each batch in one indexing operation, so the loader
    adds no per-sample Python work (no per-item fetch, no collate, no list of ints turned
    back into a tensor) to data that is already in memory. Shuffled, it draws the same
    permutation as `RandomSampler` with the same generator.
    """

    def __init__(self, rows: int, batch_size: int, generator: torch.Generator | None) -> None:
        self.rows, self.batch_size, self.generator = rows, batch_size, generator

    def __len__(self) -> int:
        return -(-self.rows // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        if self.generator is None:
            return (slice(start, start + self.batch_size) for start in range(0, self.rows, self.batch_size))
        return iter(torch.randperm(self.rows, generator=self.generator).split(self.batch_size))


class Rows(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """In-memory inputs and targets, read a whole batch of rows (a slice or an index tensor) at a time."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.X, self.y = X, y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, rows: slice | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(rows, slice):
            return self.X[rows], self.y[rows]  # views: nothing copied
        return self.X.index_select(0, rows), self.y.index_select(0, rows)  # cheaper than X[rows]


def batches(split: Split, batch_size: int, generator: torch.Generator | None) -> DataLoader:
    """An epoch's batches through a DataLoader: in order, or shuffled by the generator."""
    data = Rows(torch.from_numpy(split.X), torch.from_numpy(split.y))
    return DataLoader(data, batch_size=None, sampler=Batches(len(data), batch_size, generator), collate_fn=as_is)


def as_is(batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """The dataset already returns whole batches as tensors: nothing to collate or convert."""
    return batch


class Seen:
    """What an epoch saw: loss, accuracy or absolute and squared errors.

    Per batch it only keeps references (the detached loss, outputs and targets); outputs
    are reduced (argmax for classification) a block of batches at a time and everything
    else once per epoch: no host sync and no extra tensor op per batch.
    """

    BLOCK = 1 << 16  # output values held before a reduction (256 KiB of float32)

    def __init__(self, classification: bool, kind: str) -> None:
        self.classification, self.kind = classification, kind
        self.losses: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []
        self.outputs: list[torch.Tensor] = []
        self._block: list[torch.Tensor] = []
        self._block_batches = 0  # set from the first batch's size

    @property
    def n(self) -> int:
        return sum(len(y) for y in self.targets)

    def add(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        self.losses.append(loss)
        self.targets.append(y)
        self._block.append(out)
        if not self._block_batches:
            self._block_batches = max(1, self.BLOCK // max(1, out.numel()))
        if len(self._block) >= self._block_batches:
            self._reduce()

    def _reduce(self) -> None:
        if not self._block:
            return
        out = torch.cat(self._block) if len(self._block) > 1 else self._block[0]
        if self.classification and out.shape[-1] != 1:
            out = out.argmax(1)
        self.outputs.append(out)
        self._block = []

    def values(self, prefix: str = "") -> dict[str, float]:
        if not self.targets:
            keys = ("loss", "accuracy") if self.classification else ("loss", "mae", "rmse")
            return {f"{prefix}{key}": 0.0 for key in keys}
        self._reduce()
        counts = [len(y) for y in self.targets]
        n = sum(counts)
        sizes = torch.tensor(counts, dtype=torch.float64, device=self.losses[0].device)
        loss = float(torch.dot(torch.stack(self.losses).double().reshape(-1), sizes)) / n
        out, y = torch.cat(self.outputs), torch.cat(self.targets)
        if self.classification:
            if out.dim() > 1:  # one output unit: a probability (sigmoid) or a logit
                out = (out.reshape(-1) > (0.5 if self.kind == "sigmoid" else 0.0)).long()
            return {f"{prefix}loss": loss, f"{prefix}accuracy": float((out == y.long()).sum()) / n}
        diff = (out.reshape(-1) - y).double()
        return {f"{prefix}loss": loss, f"{prefix}mae": float(diff.abs().sum()) / n,
                f"{prefix}rmse": (float((diff * diff).sum()) / n) ** 0.5}  # fmt: skip


def to_input(x: torch.Tensor, perm: tuple[int, ...] | None, device: torch.device) -> torch.Tensor:
    if device.type != "cpu":
        x = x.to(device, non_blocking=True)
    return x.permute(*perm).contiguous() if perm else x


# --- checkpoints ---------------------------------------------------------------------------
def checkpoint_writer(model: torch.nn.Module, opt: torch.optim.Optimizer, ctx: JobContext, epoch: int,
                      early: EarlyStopping, rate: LearningRate) -> Callable[[], None]:  # fmt: skip
    """Model and optimizer state and torch's generator state (dropout draws from it), early
    stopping's and the learning-rate schedule's state (the shuffle needs none: each epoch's
    order is seeded from (seed, epoch)); copied now, and the function that writes the copy."""
    folder, name = ctx.checkpoint_dir, f"state-{epoch}.pt"
    # Copies: state_dict() holds the live tensors, which the next steps change in place.
    payload: dict[str, Any] = {"model": {key: value.detach().clone() for key, value in model.state_dict().items()},
                               "optimizer": copy.deepcopy(opt.state_dict()), "torch_rng": torch.get_rng_state()}  # fmt: skip
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        payload["cuda_rng"] = torch.cuda.get_rng_state_all()
    state = {"framework": "torch", "epoch": epoch, "weights": name, "early": early.state(), "lr_schedule": rate.state()}
    rng = checkpoints.host_rng_state()

    def write() -> None:
        checkpoints.atomic_write(folder / name, lambda tmp: torch.save(payload, tmp))
        checkpoints.save_state(folder, ctx.checkpoint_owner, state, rng)
        checkpoints.remove_others(folder, "state-*.pt", name)

    return write


def restore_checkpoint(model: torch.nn.Module, opt: torch.optim.Optimizer, ctx: JobContext,
                       early: EarlyStopping, rate: LearningRate) -> int:  # fmt: skip
    state = checkpoints.load_state(ctx.checkpoint_dir, "torch", ctx.checkpoint_owner)
    if state is None:
        return 0
    payload = torch.load(ctx.checkpoint_dir / state["weights"], map_location="cpu", weights_only=True)
    model.load_state_dict(payload["model"])
    opt.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["torch_rng"])
    if "cuda_rng" in payload and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    early.load(state.get("early", {}))
    rate.load(state.get("lr_schedule", {}))
    checkpoints.restore_host_rng(state)
    return int(state["epoch"])


def best_writer(model: torch.nn.Module, folder: Path) -> Callable[[], None]:
    """The weights of the best epoch so far (restore_best_weights), copied now; the function
    writes them beside the checkpoint."""
    weights = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
    return lambda: checkpoints.atomic_write(folder / checkpoints.BEST_TORCH, lambda tmp: torch.save(weights, tmp))


def restore_best(model: torch.nn.Module, folder: Path) -> None:
    path = folder / checkpoints.BEST_TORCH
    if path.exists():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))


class Snapshots:
    """Model and optimizer state for the shared bookkeeping: checkpoints and best weights, copied and restored."""

    def __init__(self, model: torch.nn.Module, opt: torch.optim.Optimizer, ctx: JobContext) -> None:
        self.model, self.opt, self.ctx = model, opt, ctx

    def checkpoint(self, epoch: int, early: EarlyStopping, rate: LearningRate) -> Callable[[], None]:
        return checkpoint_writer(self.model, self.opt, self.ctx, epoch, early, rate)

    def best(self) -> Callable[[], None]:
        return best_writer(self.model, self.ctx.checkpoint_dir)

    def restore_checkpoint(self, early: EarlyStopping, rate: LearningRate) -> int:
        return restore_checkpoint(self.model, self.opt, self.ctx, early, rate)

    def restore_best(self) -> None:
        restore_best(self.model, self.ctx.checkpoint_dir)


Step = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def plain_step(
    model: torch.nn.Module, opt: torch.optim.Optimizer, criterion: Any, clipnorm: float | None = None
) -> Step:
    """One optimisation step; returns the detached outputs and loss.

    clipnorm scales all gradients together so their global norm is at most clipnorm
    (Keras's global_clipnorm).
    """
    params = [p for p in model.parameters() if p.requires_grad]

    def step(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = model(xb)
        loss = criterion(out if out.dtype == torch.float32 else out.float(), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(params, clipnorm)
        opt.step()
        return out.detach(), loss.detach()

    return step


def amp_step(model: torch.nn.Module, opt: torch.optim.Optimizer, criterion: Any, clipnorm: float | None = None) -> Step:
    """The same step in float16 autocast with a gradient scaler (CUDA, mixed_precision)."""
    scaler = torch.amp.GradScaler("cuda")
    params = [p for p in model.parameters() if p.requires_grad]

    def step(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast("cuda"):
            out = model(xb)
            loss = criterion(out.float(), yb)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if clipnorm is not None:
            scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
            torch.nn.utils.clip_grad_norm_(params, clipnorm)
        scaler.step(opt)
        scaler.update()
        return out.detach(), loss.detach()

    return step


@torch.no_grad()
def evaluate_split(model: torch.nn.Module, split: Split, ctx: JobContext, criterion: Any,
                   perm: tuple[int, ...] | None, device: torch.device) -> Seen:  # fmt: skip
    model.eval()
    seen = Seen(ctx.classification, ctx.output_kind)
    for xb, yb in batches(split, ctx.hp.inference_batch_size, None):
        xb, yb = to_input(xb, perm, device), yb.to(device)
        out = model(xb).float()
        seen.add(out, yb, criterion(out, yb))
    return seen
