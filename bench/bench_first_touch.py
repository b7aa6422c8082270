"""What memory new to a process costs on this machine: the first write to a fresh numpy array
right after the same amount was freed, against the same after a pause, with transparent huge pages
(numpy asks for them on arrays of 4 MiB and more) and without (NUMPY_MADVISE_HUGEPAGE=0).

    .venv/bin/python bench/bench_first_touch.py --mib 300 --pause 3 --rounds 5

A VM whose balloon device reports free memory to its host (virtio free page reporting, on blocks
of 2 MiB and more that stay free for a few seconds) gets such blocks back only through the host:
a huge page taken from one costs far more than one freed a moment ago. An ingestion worker between
two uploads meets the second case; a process that keeps its memory meets the first. Each setting
runs in its own process, since numpy reads NUMPY_MADVISE_HUGEPAGE once, at import.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BALLOON_DEVICE = "0x0005"
REPORTING_BIT = 5  # VIRTIO_BALLOON_F_REPORTING


def free_page_reporting() -> bool | None:
    """Whether a virtio balloon on this machine reports free pages to the host (None: no balloon)."""
    for device in Path("/sys/bus/virtio/devices").glob("*"):
        try:
            if (device / "device").read_text().strip() == BALLOON_DEVICE:
                features = (device / "features").read_text().strip()
                return len(features) > REPORTING_BIT and features[REPORTING_BIT] == "1"
        except OSError:
            continue
    return None


def child(mib: int, pause: float, rounds: int) -> None:
    """Alternating rounds in this process: touch right after a free, then after a pause; JSON out."""
    import numpy as np

    count = mib * 2**20 // 8

    def touch() -> tuple[float, float]:
        before, started = resource.getrusage(resource.RUSAGE_SELF).ru_stime, time.perf_counter()
        array = np.empty(count)
        array.fill(1.0)  # every page written once
        wall = time.perf_counter() - started
        system = resource.getrusage(resource.RUSAGE_SELF).ru_stime - before
        del array
        return wall, system

    touch()  # the process's first allocation is in neither column
    soon: list[tuple[float, float]] = []
    later: list[tuple[float, float]] = []
    for _ in range(rounds):
        soon.append(touch())
        time.sleep(pause)
        later.append(touch())
    results = {"right after a free": soon, f"after {pause:g} s": later}
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=300, help="MiB touched each time (default 300)")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between the free and the touch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.mib, args.pause, args.rounds)
        return
    reporting = free_page_reporting()
    said = {None: "no virtio balloon", True: "on", False: "off"}[reporting]
    print(f"{os.cpu_count()} CPUs; free page reporting to the host: {said}; {args.mib} MiB per touch")
    for label, value in (("huge pages (numpy's default)", "1"), ("4 KiB pages", "0")):
        env = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": value}
        cmd = [sys.executable, __file__, "--child", "--mib", str(args.mib), "--pause", str(args.pause),
               "--rounds", str(args.rounds)]  # fmt: skip
        results = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
        medians = {case: (statistics.median(w for w, _ in runs), statistics.median(s for _, s in runs))
                   for case, runs in results.items()}  # fmt: skip
        (_, (warm, warm_sys)), (case, (cold, cold_sys)) = medians.items()
        print(f"{label}: right after a free {warm:.3f} s ({warm_sys:.3f} system), {case} {cold:.3f} s "
              f"({cold_sys:.3f} system): {cold / warm:.1f}x, medians of {args.rounds}")  # fmt: skip


if __name__ == "__main__":
    main()
