"""Ingestion benchmark: throughput, memory of the upload path and the worker, epoch read speed.

    .venv/bin/python bench/bench_ingest.py            # 1 GiB numeric CSV
    .venv/bin/python bench/bench_ingest.py --size 200M

Every figure is measured here, side by side, on this machine; docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS = 20


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def make_csv(path: Path, size: int, seed: int = 0) -> int:
    """A numeric CSV of about `size` bytes: COLUMNS float features (5 decimals) and an integer class (0-4)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    rows = 0
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with open(path, "wb") as handle:
        handle.write((",".join([f"x{i}" for i in range(COLUMNS)] + ["label"]) + "\n").encode())
        while handle.tell() < size:
            block = np.round(rng.normal(size=(200_000, COLUMNS)) * 10, 5)
            labels = (block[:, 0] > 0).astype(np.int64) + (block[:, 1] > 5) * 2 + (block[:, 2] > 12)
            columns = {f"x{i}": block[:, i] for i in range(COLUMNS)} | {"label": labels}
            pacsv.write_csv(pa.table(columns), handle, options)
            rows += len(block)
    return rows


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> int:
    """Restart the peak-RSS counter (VmHWM) at the current RSS, so imports do not hide growth."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_kib("VmRSS")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- children: each measurement runs in its own process so that ru_maxrss is its own -------


def child_ingest(source: str, out_dir: str) -> None:
    from builder.datasets.limits import Limits
    from builder.datasets.options import validate_options
    from builder.datasets.tabular import ingest_tabular

    base = reset_peak()
    cpu, started = cpu_seconds(), time.perf_counter()
    result = ingest_tabular(
        Path(source), validate_options("tabular", {"target_column": "label"}), Path(out_dir), Limits()
    )
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    peak = _status_kib("VmHWM")
    print(
        json.dumps(
            {"seconds": elapsed, "cpu": cpu, "peak_kib": peak, "base_kib": base, "splits": result.profile["splits"]}
        )
    )


def child_upload(source: str, tmp_dir: str) -> None:
    """Django's multipart parser with our upload handler, fed a streamed request body."""
    import django
    from django.conf import settings

    settings.configure(
        LAYERLOOM_DATA_ROOT=Path(tmp_dir),
        LAYERLOOM_MAX_UPLOAD_BYTES=8 * 1024**3,
        FILE_UPLOAD_MAX_MEMORY_SIZE=2_621_440,
        DATA_UPLOAD_MAX_MEMORY_SIZE=2_621_440,
        USE_I18N=False,
    )
    django.setup()
    from django.http.multipartparser import MultiPartParser

    from builder.datasets.upload import HashingUploadHandler

    boundary = "----layerloombench"
    size = os.path.getsize(source)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="data.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    class Body:
        """A request body read from disk in small pieces, like a socket."""

        def __init__(self) -> None:
            self.parts = [head]
            self.file = open(source, "rb")  # noqa: SIM115
            self.done = False

        def read(self, n: int = -1) -> bytes:
            if self.parts:
                return self.parts.pop()
            if not self.done:
                chunk = self.file.read(n if n and n > 0 else 65536)
                if chunk:
                    return chunk
                self.done = True
                return tail
            return b""

    meta = {
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(len(head) + size + len(tail)),
    }
    import django.http

    request = django.http.HttpRequest()
    handler = HashingUploadHandler(request)
    base = reset_peak()
    started = time.perf_counter()
    _, files = MultiPartParser(meta, Body(), [handler]).parse()
    elapsed = time.perf_counter() - started
    uploaded = files["file"]
    peak = _status_kib("VmHWM")
    print(
        json.dumps(
            {"seconds": elapsed, "peak_kib": peak, "base_kib": base, "size": uploaded.size, "sha256": uploaded.sha256}
        )
    )
    uploaded.close()


def child_epoch(source: str, version_dir: str) -> None:
    import pyarrow.csv as pacsv

    from builder.datasets.arrays import load_split

    cpu, started = cpu_seconds(), time.perf_counter()
    X, y = load_split(version_dir, "train")
    total = 0.0
    for start in range(0, len(X), 4096):
        total += float(np.asarray(X[start : start + 4096]).sum())  # touch every byte, batch by batch
    npy_seconds, npy_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    cpu, started = cpu_seconds(), time.perf_counter()
    # The cheapest re-parse there is: pyarrow's multi-threaded reader, numbers only, no preprocessing.
    table = pacsv.read_csv(source)
    for batch in table.to_batches(max_chunksize=4096):
        np.stack([c.to_numpy() for c in batch.columns], axis=1)
    csv_seconds, csv_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(json.dumps({"npy_seconds": npy_seconds, "csv_seconds": csv_seconds, "npy_cpu": npy_cpu, "csv_cpu": csv_cpu}))


def run_child(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1G", help="CSV size, e.g. 200M or 1G (default 1G)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {"ingest": child_ingest, "upload": child_upload, "epoch": child_epoch}[args.child[0]](*args.child[1:])
        return

    size = parse_size(args.size)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start (other work on the machine slows every figure)"
    )
    work = Path(tempfile.mkdtemp(prefix="layerloom-bench-"))
    try:
        source = work / "data.csv"
        started = time.perf_counter()
        rows = make_csv(source, size)
        actual = source.stat().st_size
        print(
            f"generated {actual / 1e6:,.0f} MB, {rows:,} rows x {COLUMNS + 1} columns in {time.perf_counter() - started:.0f} s"
        )

        upload = run_child("upload", str(source), str(work))
        upload_growth = (upload["peak_kib"] - upload["base_kib"]) / 1024
        print(
            f"upload:  {actual / 1e6 / upload['seconds']:,.0f} MB/s through the multipart parser + sha256; "
            f"web process peak grew by {upload_growth:,.1f} MiB (limit 100)"
        )

        out = work / "v1"
        out.mkdir()
        ingest = run_child("ingest", str(source), str(out))
        arrays = sum(p.stat().st_size for p in out.glob("X_*.npy")) + sum(p.stat().st_size for p in out.glob("y_*.npy"))
        peak_mib = ingest["peak_kib"] / 1024
        print(
            f"ingest:  {actual / 1e6 / ingest['seconds']:,.0f} MB/s ({ingest['seconds']:.1f} s wall, "
            f"{ingest['cpu']:.1f} CPU-s; target >= 50 MB/s); "
            f"worker peak RSS {peak_mib:,.0f} MiB vs materialised arrays {arrays / 2**20:,.0f} MiB "
            f"(ratio {peak_mib / (arrays / 2**20):.2f}, target < 2)"
        )

        epoch = run_child("epoch", str(source), str(out))
        print(
            f"epoch:   memory-mapped .npy {epoch['npy_seconds']:.2f} s vs pyarrow CSV parse {epoch['csv_seconds']:.2f} s "
            f"(x{epoch['csv_seconds'] / epoch['npy_seconds']:.0f} faster, target >= 10; "
            f"CPU-s {epoch['npy_cpu']:.2f} vs {epoch['csv_cpu']:.2f})"
        )
        print(
            f"ratio:   ingestion took {ingest['seconds'] / epoch['csv_seconds']:.2f}x the time of one bare pyarrow parse "
            "of the same file (measured side by side, so both feel the same load)"
        )
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


if __name__ == "__main__":
    main()
