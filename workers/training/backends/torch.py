"""torch: a plain training loop over a DataLoader of in-memory batches, in the generated nn.Module,
with every epoch handed to the shared bookkeeping.

Imported only inside the child process that runs one job (torch comes with it).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from builder.codegen import torch_input_permutation
from builder.codegen.frameworks import TORCH
from workers.training import checkpoints, torch_runner
from workers.training.backends import threads, torch_export
from workers.training.backends.base import Backend, NativeExport
from workers.training.bookkeeping import EpochBook
from workers.training.context import JobError, Split
from workers.training.reporter import Reporter

log = logging.getLogger(__name__)


class TorchBackend(Backend):
    framework = TORCH
    device: torch.device

    @classmethod
    def preload(cls) -> None:
        """Pay torch's lazy first-use costs before a job arrives.

        The first optimizer imports torch._dynamo (1-3 s on a shared 2-core machine, more than the
        rest of a small job's start); the first backward starts autograd. CPU tensors only, no
        random numbers drawn: CUDA, the seeds and determinism are set up for the job later.
        """
        weight = torch.zeros(2, 2, requires_grad=True)
        for name in ("sgd", "adam", "adamw", "rmsprop"):
            opt = torch_runner.make_optimizer(name, 1e-3, [weight])
            (weight * 2.0).sum().backward()
            opt.step()

    def setup_device(self) -> str:
        hp = self.ctx.hp
        cuda = torch.cuda.is_available() and hp.device != "cpu"
        if hp.device == "cuda" and not torch.cuda.is_available():
            raise JobError("The job asks for a CUDA device but this worker has none; use device auto or cpu.")
        torch.manual_seed(hp.seed)
        np.random.seed(hp.seed)
        torch.use_deterministic_algorithms(True, warn_only=cuda)  # some CUDA kernels have no deterministic form
        # Deterministic mode also fills every new tensor with NaN to expose reads of uninitialised
        # memory: a debugging aid that costs a memset per allocation (3-4% of a small CNN's epoch
        # here) and changes no result.
        torch.utils.deterministic.fill_uninitialized_memory = False
        self.size_threads()
        if cuda:
            self.device = torch.device("cuda:0")
            return f"GPU: {torch.cuda.get_device_name(0)}"
        self.device = torch.device("cpu")
        return "CPU"

    def size_threads(self) -> None:
        """The math threads threads.py gives this process (OMP_NUM_THREADS, when set, wins); logged for the worker's log."""
        size = threads.pool_size("OMP_NUM_THREADS", threads.configured_threads())
        torch.set_num_threads(size)
        if torch.get_num_interop_threads() != size:  # settable once, before any inter-op work
            torch.set_num_interop_threads(size)
        log.info("job %s: torch threads: %d intra-op, %d inter-op (OMP_WAIT_POLICY=%s)", self.ctx.job_id,
                 torch.get_num_threads(), torch.get_num_interop_threads(), os.environ.get("OMP_WAIT_POLICY", "unset"))  # fmt: skip

    def build(self) -> torch.nn.Module:
        return self.generated_module().build_model().to(self.device)

    def step(self, model: torch.nn.Module, opt: torch.optim.Optimizer, objective: Any,
             clipnorm: float | None) -> torch_runner.Step:  # fmt: skip
        """One optimisation step: float16 autocast with a gradient scaler on CUDA with mixed_precision."""
        amp = self.device.type == "cuda" and self.ctx.hp.mixed_precision
        return (torch_runner.amp_step if amp else torch_runner.plain_step)(model, opt, objective, clipnorm)

    def train(self, train: Split, val: Split, reporter: Reporter) -> tuple[torch.nn.Module, int]:
        ctx, device = self.ctx, self.device
        model = self.build()
        opt = torch_runner.optimizer(ctx, model)
        snapshots = torch_runner.Snapshots(model, opt, ctx)
        criterion, perm = torch_runner.loss_fn(ctx), torch_input_permutation(ctx.spec)
        step = self.step(model, opt, torch_runner.training_loss(ctx, train.y, device), ctx.hp.clipnorm)
        generator = torch.Generator()
        loader = torch_runner.batches(train, ctx.hp.batch_size, generator)
        on_cpu = device.type == "cpu"
        with checkpoints.Background() as writes:
            book = EpochBook(ctx, reporter, train, val, writes)
            start = book.resume(snapshots)
            for epoch in range(start, ctx.hp.epochs):
                generator.manual_seed(ctx.hp.seed * 100_003 + epoch)  # a resumed epoch shuffles as the first run did
                torch_runner.set_learning_rate(opt, book.begin(epoch))
                seen = torch_runner.Seen(ctx.classification, ctx.output_kind)
                model.train()
                for index, (xb, yb) in enumerate(loader):
                    xb = torch_runner.to_input(xb, perm, device)
                    if not on_cpu:
                        yb = yb.to(device, non_blocking=True)
                    out, loss = step(xb, yb)
                    seen.add(out, yb, loss)
                    if book.batch_done(epoch, index + 1):
                        return model, start
                book.trained()
                values = seen.values()
                if len(val.X):
                    values.update(torch_runner.evaluate_split(model, val, ctx, criterion, perm, device).values("val_"))
                values["learning_rate"] = opt.param_groups[0]["lr"]
                if book.end(epoch, values, snapshots):
                    break
        book.finish(snapshots)
        return model, start

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, X: np.ndarray) -> np.ndarray:
        model.eval()
        perm, outputs = torch_input_permutation(self.ctx.spec), []
        size = self.ctx.hp.inference_batch_size
        for start in range(0, len(X), size):
            xb = torch_runner.to_input(torch.from_numpy(X[start : start + size]), perm, self.device)
            outputs.append(model(xb).float().cpu().numpy())
        return np.concatenate(outputs).astype(np.float64) if outputs else np.zeros((0, 1))

    def exportable(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.cpu()

    def timed_steps(self, head: Split) -> tuple[list[float], int | None]:
        ctx, device = self.ctx, self.device
        model = self.build()
        model.train()
        step = self.step(model, torch_runner.optimizer(ctx, model), torch_runner.loss_fn(ctx), None)
        perm = torch_input_permutation(ctx.spec)
        cuda = device.type == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        X, y = torch.from_numpy(head.X), torch.from_numpy(head.y)
        times, size = [], ctx.hp.batch_size
        for start in range(0, len(X), size):
            xb = torch_runner.to_input(X[start : start + size], perm, device)
            yb = y[start : start + size].to(device)
            began = time.perf_counter()
            step(xb, yb)
            if cuda:
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - began)
        return times, int(torch.cuda.max_memory_allocated(device)) if cuda else None

    @classmethod
    def export_native(cls, model: Any, source: str, spec: dict[str, Any], sample: np.ndarray, out_dir: Path,
                      work: Path) -> NativeExport:  # fmt: skip
        return torch_export.export_files(model, source, sample, out_dir, work)


BACKEND = TorchBackend
