"""How long an epoch's training took, in wall seconds and in this process's CPU seconds.

CPU seconds count every thread of the process: well below wall seconds means the machine
starved the job, not that the model is slow.
"""

from __future__ import annotations

import time


class EpochClock:
    """Started when made; `read()` gives the seconds since, under the names jobs record."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> dict[str, float]:
        return {"epoch_seconds": time.perf_counter() - self.wall, "epoch_cpu_seconds": time.process_time() - self.cpu}
