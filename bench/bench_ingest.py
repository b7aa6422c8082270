"""Ingestion benchmark: throughput, memory of the upload path and the worker, epoch read speed.

    .venv/bin/python bench/bench_ingest.py            # 1 GiB numeric CSV
    .venv/bin/python bench/bench_ingest.py --size 200M
    .venv/bin/python bench/bench_ingest.py --api --size 272M,1G --rounds 5

Without --api, each measurement runs in its own process: the upload path (Django's multipart
parser with our upload handler), ingest_tabular alone, and an epoch from the arrays.

With --api, the whole path as a client sees it: the Procfile's web process (runserver) and a
Celery worker on the ingest queue ("default", one process), on the embedded defaults (SQLite,
the filesystem broker) in a throwaway LAYERLOOM_VAR_DIR. Each size's CSV is uploaded streamed
through POST /api/datasets/ with a token (client.api.MultipartStream), and timed from the
upload's answer to status "ready" (GET /api/datasets/{id}/?wait=30, which the server answers as
the ingestion ends, as the command-line client and the dataset page read it; or, with --poll S,
a plain GET every S seconds); beside it,
in the same run, one bare pyarrow.csv.read_csv of the same file. Rounds alternate (bare, api,
bare, api...) so the machine's other load weighs on both sides alike; medians and their ratio
are printed, with the task's own time from the worker's log, the CPU seconds of the task (the
worker's pool process) against those of the bare parse (a figure that load distorts less than
wall time), and of those the system (kernel) seconds, the web process's CPU time answering the
reads, and its peak RSS growth during the upload (VmHWM, reset before it, or VmRSS sampled every
20 ms). The dataset is deleted after each round. A first small upload,
untimed, lets the worker import what a running worker has already imported.

Every figure is measured here, side by side, on this machine; docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, record  # noqa: E402

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
            # The last block only as long as the size needs (blocks are about 38 MB).
            n = 200_000 if not rows else min(200_000, int((size - handle.tell()) * rows / handle.tell()) + 1)
            block = np.round(rng.normal(size=(n, COLUMNS)) * 10, 5)
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


def cpu_and_system() -> tuple[float, float]:
    """(CPU seconds, of which system) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime


def cpu_seconds() -> float:
    return cpu_and_system()[0]


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


# --- API mode: the real web process and a real ingest worker ---------------------------------


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _proc_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_times(pid: int) -> np.ndarray:
    """(user, system) CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return np.array([int(fields[11]), int(fields[12])]) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Services:
    """The Procfile's web and ingest worker on the embedded defaults (SQLite, filesystem broker),
    in a throwaway LAYERLOOM_VAR_DIR."""

    def __init__(self, var: Path, memory_mb: int | None = None) -> None:
        import requests

        self.var = var
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_", "LAYERLOOM_"))}
        self.env.update(DJANGO_SETTINGS_MODULE="webapp.settings.base", LAYERLOOM_VAR_DIR=str(var), PYTHONUNBUFFERED="1")
        if memory_mb is not None:
            self.env["LAYERLOOM_INGEST_MEMORY_MB"] = str(memory_mb)
        self.procs: list[subprocess.Popen[bytes]] = []
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=self.env, check=True, capture_output=True)
        create_user = "from django.contrib.auth import get_user_model as g; g().objects.create_user('bench', password='bench-pw-1')"
        subprocess.run([*manage, "shell", "-c", create_user], cwd=ROOT, env=self.env, check=True, capture_output=True)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.web = self._start("web", [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"])
        # The Procfile's ingest worker (queue "default"), one process so every round meets the same warm one.
        celery = [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", "default", "-c", "1"]
        self.worker = self._start("worker", [*celery, "-n", "bench@%h", "-l", "INFO"])
        self.session = requests.Session()
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.session.get(f"{self.url}/accounts/login/", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.web.poll() is not None:
                raise RuntimeError((var / "web.log").read_text()[-3000:])
            time.sleep(0.2)
        while " ready." not in (var / "worker.log").read_text(errors="replace"):
            if time.monotonic() > deadline or self.worker.poll() is not None:
                raise RuntimeError((var / "worker.log").read_text()[-3000:])
            time.sleep(0.2)
        answer = self.session.post(f"{self.url}/api/auth/token/", json={"username": "bench", "password": "bench-pw-1"})
        answer.raise_for_status()
        self.session.headers["Authorization"] = f"Token {answer.json()['token']}"

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.var / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def ingest(self, source: Path, poll: float) -> dict:
        """Upload through POST /api/datasets/ (streamed), then poll until ready; the dataset is deleted after."""
        from client.api import MultipartStream

        fields = {"kind": "tabular", "name": "bench", "options": json.dumps({"target_column": "label"})}
        body = MultipartStream(fields, "file", source)
        pid = self.web.pid
        base = _proc_kib(pid, "VmRSS")
        try:  # restart the web process's high-water mark at its current RSS
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass
        peak = [base]
        sampling = threading.Event()

        def sample() -> None:  # in case clear_refs is not allowed: VmRSS every 20 ms
            while not sampling.wait(0.02):
                peak[0] = max(peak[0], _proc_kib(pid, "VmRSS"))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        answer = self.session.post(
            f"{self.url}/api/datasets/", data=body, headers={"Content-Type": body.content_type}, timeout=(30, None)
        )
        answered = time.perf_counter()
        sampling.set()
        sampler.join()
        growth = (max(peak[0], _proc_kib(pid, "VmHWM")) - base) / 1024
        if answer.status_code != 201:
            raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:500]}")
        dataset = answer.json()
        web_times = _cpu_times(pid)
        pool = [int(n) for task in Path(f"/proc/{self.worker.pid}/task").iterdir()
                for n in (task / "children").read_text().split()]  # fmt: skip
        pool_times = sum((_cpu_times(p) for p in pool), np.zeros(2))
        while dataset["status"] not in ("ready", "failed"):
            if poll:
                time.sleep(poll)
            # Held by the server until the ingestion ends (?wait=), as the client and the browser read it.
            wait = {} if poll else {"wait": 30}
            dataset = self.session.get(f"{self.url}/api/datasets/{dataset['id']}/", params=wait).json()
        ready = time.perf_counter()
        web_cpu = float((_cpu_times(pid) - web_times).sum())
        worker_user, worker_sys = sum((_cpu_times(p) for p in pool), np.zeros(2)) - pool_times
        ran = re.findall(
            r"builder\.ingest_dataset\[[^]]+\] succeeded in ([0-9.]+)s", (self.var / "worker.log").read_text()
        )
        if dataset["status"] != "ready":
            raise RuntimeError(f"ingestion failed: {dataset.get('error')}")
        self.session.delete(f"{self.url}/api/datasets/{dataset['id']}/").raise_for_status()
        return {"upload": answered - started, "ingest": ready - answered, "web_growth_mib": growth,
                "task": float(ran[-1]) if ran else float("nan"), "web_cpu": web_cpu,
                "worker_cpu": float(worker_user + worker_sys), "worker_sys": float(worker_sys)}  # fmt: skip


def bare_parse(source: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, of which system) of one pyarrow.csv.read_csv of the file, in this process."""
    import pyarrow.csv as pacsv

    (cpu, system), started = cpu_and_system(), time.perf_counter()
    table = pacsv.read_csv(source)
    elapsed, (cpu_after, system_after) = time.perf_counter() - started, cpu_and_system()
    del table
    return elapsed, cpu_after - cpu, system_after - system


def run_api(sizes: list[int], rounds: int, poll: float, keep: bool, memory_mb: int | None = None) -> None:
    import statistics

    print(f"{os.cpu_count()} CPUs, load average {_loadavg()} at start (other work on the machine slows every figure)")
    if memory_mb is not None:
        print(f"LAYERLOOM_INGEST_MEMORY_MB={memory_mb}")
    work = Path(tempfile.mkdtemp(prefix="layerloom-bench-api-"))
    services = None
    try:
        (work / "var").mkdir()
        services = Services(work / "var", memory_mb)
        warm = work / "warm.csv"
        make_csv(warm, 2 * 1024**2, seed=1)
        services.ingest(warm, poll)  # untimed: the worker's first task imports pyarrow, which a running worker has done
        for size in sizes:
            source = work / "data.csv"
            started = time.perf_counter()
            rows = make_csv(source, size)
            actual = source.stat().st_size
            print(f"\n{actual / 1e6:,.0f} MB, {rows:,} rows x {COLUMNS + 1} columns "
                  f"(generated in {time.perf_counter() - started:.0f} s); load average {_loadavg()}")  # fmt: skip
            bare_times, api_times, uploads, growths, tasks, bare_cpus, worker_cpus = [], [], [], [], [], [], []
            bare_sys, worker_sys = [], []
            for number in range(1, rounds + 1):
                bare_wall, bare_cpu, bare_system = bare_parse(source)
                bare_times.append(bare_wall)
                bare_cpus.append(bare_cpu)
                bare_sys.append(bare_system)
                result = services.ingest(source, poll)
                api_times.append(result["ingest"])
                uploads.append(result["upload"])
                growths.append(result["web_growth_mib"])
                tasks.append(result["task"])
                worker_cpus.append(result["worker_cpu"])
                worker_sys.append(result["worker_sys"])
                print(
                    f"  round {number}: bare read_csv {bare_wall:.2f} s ({bare_cpu:.2f} CPU-s, {bare_system:.2f} system) | "
                    f"upload answered in "
                    f"{result['upload']:.2f} s, "
                    f"then ready in {result['ingest']:.2f} s (the task ran {result['task']:.2f} s, "
                    f"{result['worker_cpu']:.2f} CPU-s, {result['worker_sys']:.2f} system; the web process "
                    f"answered the reads in {result['web_cpu']:.2f} CPU-s) | web process peak grew {result['web_growth_mib']:.1f} MiB "
                    f"| load {_loadavg()}"
                )
            bare, api = statistics.median(bare_times), statistics.median(api_times)
            task_cpu, bare_cpu = statistics.median(worker_cpus), statistics.median(bare_cpus)
            task_kernel, bare_kernel = statistics.median(worker_sys), statistics.median(bare_sys)
            print(
                f"  medians: bare {bare:.2f} s, upload's answer -> ready {api:.2f} s: ratio {api / bare:.2f} "
                f"(target 1.2); the task itself {statistics.median(tasks):.2f} s; CPU-s: the task "
                f"{task_cpu:.2f}, bare {bare_cpu:.2f} (ratio {task_cpu / bare_cpu:.2f}), of which system (the kernel) "
                f"{task_kernel:.2f} and {bare_kernel:.2f}; upload {statistics.median(uploads):.2f} s "
                f"({actual / 1e6 / statistics.median(uploads):,.0f} MB/s); web process peak growth "
                f"{max(growths):.1f} MiB at most"
            )
            record(
                Figure(f"{actual / 1e6:,.0f} MB CSV through the API: upload's answer to ready, median of {len(api_times)}"
                       + (f" (LAYERLOOM_INGEST_MEMORY_MB={memory_mb})" if memory_mb is not None else ""),
                       f"{api:.2f} s", f"one bare pyarrow.csv.read_csv: {bare:.2f} s", api / bare, "within 1.2x",
                       api / bare <= 1.2),
                Figure(f"{actual / 1e6:,.0f} MB: the ingestion task's CPU seconds", f"{task_cpu:.2f} CPU-s",
                       f"the bare parse: {bare_cpu:.2f} CPU-s", task_cpu / bare_cpu),
                Figure(f"{actual / 1e6:,.0f} MB: of those, system (kernel) CPU seconds",
                       f"{task_kernel:.2f} CPU-s", f"the bare parse: {bare_kernel:.2f} CPU-s",
                       task_kernel / max(bare_kernel, 0.01)),
                Figure(f"{actual / 1e6:,.0f} MB: the web process's peak memory growth during the upload",
                       f"{max(growths):.1f} MiB", "", None, "flat (under 100 MB)", max(growths) < 100),
            )  # fmt: skip
            source.unlink()
        print(f"\nload average {_loadavg()} at the end")
    finally:
        if services is not None:
            services.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1G", help="CSV size, e.g. 200M or 1G (default 1G); --api: a list, 272M,1G")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--api", action="store_true", help="through the real web process and ingest worker")
    parser.add_argument("--rounds", type=int, default=5, help="--api: alternating rounds per size (default 5)")
    parser.add_argument(
        "--poll", type=float, default=0.0, help="--api: a plain status read every S seconds, not a held one (?wait=)"
    )
    parser.add_argument("--ingest-memory-mb", type=int, help="--api: the worker's LAYERLOOM_INGEST_MEMORY_MB")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {"ingest": child_ingest, "upload": child_upload, "epoch": child_epoch}[args.child[0]](*args.child[1:])
        return
    if args.api:
        run_api([parse_size(s) for s in args.size.split(",")], args.rounds, args.poll, args.keep, args.ingest_memory_mb)
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
