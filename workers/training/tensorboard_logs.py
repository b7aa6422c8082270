"""A job's TensorBoard logs, laid out as Keras's own TensorBoard callback lays them out.

    <job folder>/            the job's HParams session: its hyperparameters
    <job folder>/train/      epoch_loss, epoch_accuracy, ... of the training data
    <job folder>/validation/ the same tags for the validation data (the `val_` metrics)

Train and validation curves share tags, so TensorBoard overlays them in one chart, and the
HParams view lists each job with its hyperparameters and the last value of every tag in its
runs. Written with TensorBoard's own event-file writer and summary builders, which need
neither TensorFlow nor torch (each framework's child imports only its own).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams.summary_v2 import hparams_pb
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from workers.logfolders import job_log_folder

HParamValue = str | float | bool
VALIDATION_PREFIX = "val_"


class JobLogWriter:
    """Scalars per epoch into the train and validation runs of one job folder under `root`."""

    def __init__(self, log_dir: Path, hyperparameters: dict[str, Any]) -> None:
        self.log_dir = log_dir
        session = EventFileWriter(str(log_dir))
        session.add_event(Event(wall_time=time.time(), summary=hparams_pb(hparam_values(hyperparameters))))
        session.close()
        self._runs = {run: EventFileWriter(str(log_dir / run)) for run in ("train", "validation")}

    @classmethod
    def for_job(cls, root: Path, job_id: int, dataset_name: str, framework: str, hp: dict[str, Any]) -> JobLogWriter:
        folder = root / job_log_folder(job_id, framework, dataset_name)
        return cls(folder, {"framework": framework, "dataset": dataset_name, **hp})

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """One epoch's metrics: `val_x` goes to the validation run as epoch_x, the rest to train."""
        touched = set()
        for name, value in values.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            run = "validation" if name.startswith(VALIDATION_PREFIX) else "train"
            base = name.removeprefix(VALIDATION_PREFIX) if run == "validation" else name
            tag = base if base.startswith("epoch_") else f"epoch_{base}"  # epoch_seconds stays itself
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(value))])
            self._runs[run].add_event(Event(wall_time=time.time(), step=step, summary=summary))
            touched.add(run)
        for run in touched:
            self._runs[run].flush()  # the logs are zipped right after the last epoch: on disk by then

    def close(self) -> None:
        for writer in self._runs.values():
            writer.close()


def hparam_values(hyperparameters: dict[str, Any]) -> dict[str, HParamValue]:
    """What the HParams plugin can hold: strings, numbers and booleans; lists and mappings as
    compact JSON; unset values (None) left out, as TensorBoard shows a missing value."""
    out: dict[str, HParamValue] = {}
    for key, value in hyperparameters.items():
        if value is None:
            continue
        if isinstance(value, str | bool):
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = float(value)
        else:
            out[key] = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return out
