"""The file store on an S3-compatible server: training epochs, large downloads, the web-only install.

1. Epochs. The same job (bench/bench_training.py's CASES, its dataset generator, its job settings
   and its platform process: the real `workers.training.child` with a mark at each epoch's
   start) runs once on local files and once against a bucket on moto's server (loopback): on
   the store side the dataset is only in the bucket at the start (the job's data root and its
   trainer's cache folder are new and empty) and every epoch's checkpoint is pushed to the
   bucket. Sides alternate over rounds (and swap who goes first) so the machine's drift hits
   both. Whole epochs are timed from one epoch's start to the next (training, validation,
   metrics, checkpoint and its push, writes); the median of each side without its first epoch,
   and the ratio, are the figure held to 1.05x. The first epoch, and the set-up before it (the
   process start, the framework, and on the store side the dataset's download into the cache),
   are reported separately.
2. A large artifact download (1 GiB by default) through the production web server (gunicorn,
   webapp/gunicorn.conf.py, one worker) in three ways: local files (FileResponse), the bucket
   with presigned downloads (a redirect: the client fetches from the store) and the bucket with
   LAYERLOOM_S3_PRESIGNED_DOWNLOADS=0 (the object streamed through the web process). The worker's
   resident memory (VmRSS) is read idle after a few requests, then its peak during the download
   (the kernel's high-water mark, reset just before, and a 10 ms sampler); the target is a peak
   within 50 MB of idle.
3. The web-only install: the installed size of requirements/web.txt's closure (from the installed
   distributions' RECORD files) beside the whole virtual environment's, and, with --web-venv, of
   a throwaway venv that pip builds from requirements/web.txt (timed); and the resident memory of
   the gunicorn worker after the same pages and API calls, started normally and with every
   package outside web.txt made unimportable (the meta-path hook of
   tests/foundation/test_web_without_frameworks.py).

Uses the embedded database and broker (SQLite, folder) in a throwaway var folder; moto runs as
its own process (tests/support/s3_server.py).

Run: .venv/bin/python bench/bench_store.py [--frameworks torch,keras] [--model mlp] [--rounds 3]
     [--epochs 5] [--threads 1] [--download-mib 1024] [--web-venv PATH] [--skip epochs,download,install]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LAYERLOOM_VAR_DIR", tempfile.mkdtemp(prefix="layerloom-bench-store-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
sys.path.insert(0, str(ROOT))

from bench.bench_training import CASES, PLATFORM, job_hyperparameters, make_case_dataset  # noqa: E402 (sets Django up)
from bench.figures import Figure, record  # noqa: E402

VAR = Path(os.environ["LAYERLOOM_VAR_DIR"])
MB = 1e6

# bench_training's platform process, unchanged but for what it writes: the whole epochs, and the
# set-up from the script's start to the first epoch's start (Django, the framework, the dataset).
_OUT = "json.dump([(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])], fh)"
assert _OUT in PLATFORM, "bench_training's platform process changed: update bench_store's child"
# It also adds up the wall time spent storing checkpoints (`checkpoints.publish`, inside the epochs).
_BACKEND = "backend = backend_class(sys.argv[4])"
assert _OUT in PLATFORM and _BACKEND in PLATFORM, "bench_training's platform process changed: update bench_store"
PUBLISH = """
from workers.training import checkpoints
publishing, _publish = [], checkpoints.publish
def timed_publish(*args):
    start = time.perf_counter()
    try:
        return _publish(*args)
    finally:
        publishing.append(time.perf_counter() - start)
checkpoints.publish = timed_publish
"""
CHILD = "import time\nT0 = time.perf_counter()\n" + PLATFORM.replace(_BACKEND, PUBLISH + _BACKEND).replace(
    _OUT, 'json.dump({"setup": marks[0][0] - T0, "publish": publishing, "epochs": [(b[0] - a[0], b[1] - a[1]) '
          'for a, b in zip(marks, marks[1:])]}, fh)')  # fmt: skip


# --- 1. epochs ------------------------------------------------------------------------------------
def run_job(owner, ds, model: str, framework: str, epochs: int, env: dict[str, str]) -> dict:  # type: ignore[no-untyped-def]
    from workers.lifecycle import claim
    from workers.models import TrainingJob

    case = CASES[model]
    job = TrainingJob.objects.create(owner=owner, spec=case.spec, dataset=ds, dataset_version=ds.version,
                                     framework=framework, hyperparameters=job_hyperparameters(case, epochs))  # fmt: skip
    token = claim(job.pk, "bench")
    out = VAR / f"epochs-{job.pk}.json"
    done = subprocess.run([sys.executable, "-c", CHILD, str(job.pk), str(token), str(out), framework], cwd=ROOT,
                          capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)})  # fmt: skip
    job.refresh_from_db()
    assert done.returncode == 0 and job.status == "succeeded", (job.error, done.stderr[-3000:])
    assert job.metrics.count() == epochs, "the job stopped early: the benchmark needs every epoch"
    return {"job": job, **json.loads(out.read_text())}


def epochs_bench(owner, s3, model: str, frameworks: list[str], rounds: int, epochs: int, rows: int | None) -> None:  # type: ignore[no-untyped-def]
    ds = make_case_dataset(owner, model, rows)
    prefix = f"datasets/{ds.storage_key}/v{ds.version}"
    client = s3.client()
    size = 0
    for path in sorted(ds.version_dir.iterdir()):
        client.upload_file(str(path), s3.bucket, f"{prefix}/{path.name}")
        size += path.stat().st_size
    print(f"\n== epochs: {model}, {rows or CASES[model].rows} rows ({size / MB:.1f} MB of arrays in the bucket), "
          f"{epochs} epochs a run, {rounds} rounds alternating; load average {_load()}", flush=True)  # fmt: skip
    for framework in frameworks:
        seen: dict[str, list[dict]] = {"local": [], "store": []}
        for r in range(rounds):
            for side in ("local", "store") if r % 2 == 0 else ("store", "local"):
                env = dict(os.environ)
                if side == "store":  # a trainer host of its own: empty data root and cache, the bucket
                    host = VAR / f"store-host-{uuid.uuid4().hex[:8]}"
                    env.update({**s3.env(), "LAYERLOOM_DATA_ROOT": str(host / "data"),
                                "LAYERLOOM_CACHE_DIR": str(host / "cache")})  # fmt: skip
                run = run_job(owner, ds, model, framework, epochs, env)
                if side == "store":
                    job = run["job"]
                    assert not (host / "data" / prefix).exists(), "the store side must read the dataset from its cache"
                    cached = [p for p in (host / "cache").iterdir() if (p / "X_train.npy").is_file()]
                    assert len(cached) == 1, "the store side's cache must hold the dataset it pulled"
                    # Every epoch's checkpoint went to the bucket (a finished job's is deleted after).
                    pushed = (
                        (s3.folder / "moto.log")
                        .read_text()
                        .count(f"PUT /{s3.bucket}/jobs/{job.storage_key}/checkpoint/state.json ")
                    )
                    assert pushed == epochs, f"{pushed} checkpoints pushed in {epochs} epochs"
                seen[side].append(run)
        whole = {side: [e for run in runs for e in run["epochs"][1:]] for side, runs in seen.items()}
        med = {side: statistics.median(w for w, _ in times) for side, times in whole.items()}
        cpu = {side: statistics.median(c for _, c in times) for side, times in whole.items()}
        first = {side: statistics.median(run["epochs"][0][0] for run in runs) for side, runs in seen.items()}
        setup = {side: statistics.median(run["setup"] for run in runs) for side, runs in seen.items()}
        paired = [statistics.median(s["epochs"][i][0] for i in range(1, epochs))
                  / statistics.median(loc["epochs"][i][0] for i in range(1, epochs))
                  for s, loc in zip(seen["store"], seen["local"], strict=True)]  # fmt: skip
        ratio = med["store"] / med["local"]
        extra = (setup["store"] + first["store"]) - (setup["local"] + first["local"])
        print(f"{framework:6} {model}: whole epoch (median, first excluded): store {med['store']:.3f}s, local "
              f"{med['local']:.3f}s, ratio {ratio:.3f} (CPU s {cpu['store']:.3f}/{cpu['local']:.3f}; per round "
              f"{' '.join(f'{p:.3f}' for p in paired)})", flush=True)  # fmt: skip
        print(f"{framework:6} {model}: first epoch: store {first['store']:.3f}s, local {first['local']:.3f}s; set-up "
              f"before it (process, framework, dataset): store {setup['store']:.2f}s, local {setup['local']:.2f}s; "
              f"the store's extra cost up to the end of the first epoch {extra:+.2f}s", flush=True)  # fmt: skip
        publish = {
            side: statistics.median(p for run in runs for p in run["publish"][1:]) for side, runs in seen.items()
        }
        print(f"{framework:6} {model}: storing a checkpoint (checkpoints.publish, inside each epoch), median: store "
              f"{publish['store'] * 1000:.0f} ms, local {publish['local'] * 1000:.1f} ms", flush=True)  # fmt: skip
        for side in ("store", "local"):
            print(f"   {side} epochs (wall s): " + " | ".join(" ".join(f"{w:.2f}" for w, _ in run["epochs"])
                                                        for run in seen[side]))  # fmt: skip
        record(Figure(f"{framework} {model}: whole epoch on the S3 store (moto), median, first excluded",
                      f"{med['store']:.3f} s", f"local files: {med['local']:.3f} s", ratio, "at most 1.05x",
                      ratio <= 1.05),
               Figure(f"{framework} {model}: set-up and first epoch on the S3 store (dataset pulled into the cache)",
                      f"{setup['store'] + first['store']:.2f} s (first epoch {first['store']:.2f} s)",
                      f"local files: {setup['local'] + first['local']:.2f} s (first epoch {first['local']:.2f} s)",
                      (setup["store"] + first["store"]) / (setup["local"] + first["local"]),
                      "reported separately"),
               Figure(f"{framework} {model}: storing one checkpoint in the bucket (checkpoints.publish), inside "
                      f"each store epoch, median", f"{publish['store'] * 1000:.0f} ms",
                      f"the local whole epoch: {med['local']:.3f} s", publish["store"] / med["local"]))  # fmt: skip


# --- the web process --------------------------------------------------------------------------------
def _rss(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def gunicorn(env: dict[str, str], name: str) -> Iterator[tuple[str, int]]:
    """gunicorn with webapp/gunicorn.conf.py and one worker; yields its URL and the worker's pid."""
    from tests.support.redis_server import free_port

    port = free_port()
    log = open(VAR / f"gunicorn-{name}.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "webapp/gunicorn.conf.py", "webapp.wsgi"], cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1", "DJANGO_DEBUG": "0",
             "PYTHONUNBUFFERED": "1"},
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/accounts/login/", timeout=30).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start: {(VAR / f'gunicorn-{name}.log').read_text()[-3000:]}")
            time.sleep(0.2)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) == 1, children
        yield url, int(children[0])
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def warm_up(url: str, token: str, job_pk: int, small: int | None = None) -> None:
    """The same few pages and API calls before every reading of a worker's memory (and the
    download of a small artifact: on S3 the first one loads boto3's client, once per process)."""
    import requests

    from tests.foundation.test_web_without_frameworks import signed_in

    browser = signed_in(url, "bench", "bench-password-1")
    for page in ("/", "/datasets/", "/jobs/", f"/jobs/{job_pk}/", "/architectures/", "/api/docs/"):
        answer = browser.get(f"{url}{page}", timeout=120)
        assert answer.status_code == 200, (page, answer.status_code, answer.text[:300])
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    for path in ("/api/jobs/", f"/api/jobs/{job_pk}/", f"/api/jobs/{job_pk}/artifacts/", "/api/datasets/",
                 "/api/layers/", "/api/models/"):  # fmt: skip
        answer = api.get(f"{url}{path}", timeout=120)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    if small is not None:
        answer = api.get(f"{url}/api/jobs/{job_pk}/artifacts/{small}/", timeout=120)
        assert answer.status_code == 200 and len(answer.content) == 1 << 20, (answer.status_code, answer.text[:300])


class Sampler(threading.Thread):
    """The worker's VmRSS every 10 ms, until stopped; the kernel's high-water mark is reset first."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss(self.pid))
            time.sleep(0.01)

    def stop(self) -> int:
        self.running = False
        self.join()
        return max(self.peak, _rss(self.pid, "VmHWM"))


def big_artifact(owner, ds, mib: int, job=None, name: str = "big.bin"):  # type: ignore[no-untyped-def]
    """A succeeded job (or job) with an artifact of mib MiB (random blocks) in the local data root."""
    from workers.models import Artifact, TrainingJob

    job = job or TrainingJob.objects.create(owner=owner, spec=CASES["mlp"].spec, dataset=ds, framework="torch",
                                            dataset_version=ds.version, status="succeeded",
                                            hyperparameters={"epochs": 1})  # fmt: skip
    key = f"jobs/{job.storage_key}/artifacts/{name}"
    path = Path(os.environ.get("LAYERLOOM_DATA_ROOT", VAR / "data")) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        for _ in range(mib):
            fh.write(block)
    artifact = Artifact.objects.create(job=job, kind="onnx", filename=name, path=key,
                                       size_bytes=mib << 20, sha256="0" * 64)  # fmt: skip
    return job, artifact, path


def download_bench(owner, token: str, ds, s3, mib: int) -> None:  # type: ignore[no-untyped-def]
    import requests

    job, artifact, path = big_artifact(owner, ds, mib)
    _, small, small_path = big_artifact(owner, ds, 1, job, "small.bin")
    started = time.monotonic()
    s3.client().upload_file(str(path), s3.bucket, artifact.path)
    s3.client().upload_file(str(small_path), s3.bucket, small.path)
    print(f"\n== download of a {mib} MiB artifact through gunicorn (1 worker); uploaded to the bucket in "
          f"{time.monotonic() - started:.1f}s; load average {_load()}", flush=True)  # fmt: skip
    web_root = VAR / "web-host-data"  # the web host on S3 has no copy of the file
    ways = {
        "local files (FileResponse)": {},
        "S3, presigned redirect": {**s3.env(), "LAYERLOOM_DATA_ROOT": str(web_root), "LAYERLOOM_CACHE_DIR": str(web_root / "cache")},
        "S3, streamed through the web process": {**s3.env(), "LAYERLOOM_DATA_ROOT": str(web_root),
                                                 "LAYERLOOM_CACHE_DIR": str(web_root / "cache"),
                                                 "LAYERLOOM_S3_PRESIGNED_DOWNLOADS": "false"},
    }  # fmt: skip
    for way, extra in ways.items():
        with gunicorn({**os.environ, **extra}, way.split()[0].strip(",")) as (url, pid):
            warm_up(url, token, job.pk, small.pk)
            time.sleep(1)
            idle = _rss(pid)
            sampler = Sampler(pid)
            sampler.start()
            started = time.monotonic()
            got, redirected = 0, False
            with requests.get(f"{url}/api/jobs/{job.pk}/artifacts/{artifact.pk}/", stream=True, timeout=600,
                              headers={"Authorization": f"Token {token}"}) as answer:  # fmt: skip
                answer.raise_for_status()
                redirected = bool(answer.history)
                for chunk in answer.iter_content(1 << 20):
                    got += len(chunk)
            took = time.monotonic() - started
            peak = sampler.stop()
        assert got == mib << 20, (way, got)
        grew = (peak - idle) / MB
        print(f"{way}: worker RSS idle {idle / MB:.1f} MB, peak during the download {peak / MB:.1f} MB "
              f"(+{grew:.1f} MB); {mib} MiB in {took:.1f}s ({mib / took:.0f} MiB/s)"
              + ("; redirected to the store" if redirected else ""), flush=True)  # fmt: skip
        record(Figure(f"{mib} MiB artifact download, {way}: the web worker's peak resident memory",
                      f"{peak / MB:.1f} MB (+{grew:.1f} MB)", f"the same worker idle: {idle / MB:.1f} MB",
                      peak / idle, "within 50 MB of idle", grew <= 50))  # fmt: skip
    path.unlink()


# --- 3. the web-only install --------------------------------------------------------------------------
def installed_bytes(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        try:
            total += Path(dist.locate_file(file)).stat().st_size
        except OSError:
            pass
    return total


def folder_bytes(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def install_bench(owner, token: str, ds, web_venv: str) -> None:  # type: ignore[no-untyped-def]
    from packaging.utils import canonicalize_name

    from tests.foundation import test_web_without_frameworks as web_only

    web = web_only.closure(web_only.requirements_in(ROOT / "requirements" / "web.txt")) | web_only.ALWAYS_THERE
    sizes = {canonicalize_name(d.metadata["Name"]): installed_bytes(d) for d in metadata.distributions()}
    web_size, full_size = sum(v for k, v in sizes.items() if k in web), sum(sizes.values())
    heaviest = sorted(((v, k) for k, v in sizes.items() if k not in web), reverse=True)[:5]
    print(f"\n== install: requirements/web.txt's closure {len([k for k in sizes if k in web])} distributions, "
          f"{web_size / MB:.0f} MB installed; every distribution in .venv {len(sizes)}, {full_size / MB:.0f} MB; "
          f"the largest outside web.txt: {', '.join(f'{k} {v / MB:.0f} MB' for v, k in heaviest)}", flush=True)  # fmt: skip
    record(Figure("web-only install (requirements/web.txt's closure, installed size from RECORD)",
                  f"{web_size / MB:.0f} MB", f"the full install (.venv): {full_size / MB:.0f} MB",
                  web_size / full_size))  # fmt: skip
    if web_venv:
        built = folder_bytes(Path(web_venv)) / MB
        print(f"a venv built by pip from requirements/web.txt alone ({web_venv}): {built:.0f} MB on disk; "
              f".venv: {folder_bytes(ROOT / '.venv') / MB:.0f} MB", flush=True)  # fmt: skip
    from workers.models import TrainingJob

    job = TrainingJob.objects.filter(owner=owner).order_by("-pk").first()
    hook = VAR / "web-only-hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(web_only.HOOK.format(blocked=sorted(web_only.modules_outside_web_requirements()),
                                                                log=str(VAR / "blocked-imports.log")))  # fmt: skip
    rss = {}
    for name, extra in (("full", {}), ("web-only", {"PYTHONPATH": f"{hook}:{ROOT}"})):
        with gunicorn({**os.environ, **extra}, name) as (url, pid):
            warm_up(url, token, job.pk)
            time.sleep(1)
            rss[name] = _rss(pid)
            modules = Path(f"/proc/{pid}/maps").read_text()
            frameworks = [f for f in ("tensorflow", "torch") if f"/site-packages/{f}/" in modules]
        print(f"{name} install: gunicorn worker RSS {rss[name] / MB:.1f} MB after the same pages and API calls; "
              f"framework libraries mapped: {', '.join(frameworks) or 'none'}", flush=True)  # fmt: skip
    assert (VAR / "blocked-imports.log").read_text().startswith("# active"), "the hook must have run"
    record(Figure("web worker's resident memory after the same pages and API calls, TensorFlow and torch unimportable",
                  f"{rss['web-only'] / MB:.1f} MB", f"the full install: {rss['full'] / MB:.1f} MB",
                  rss["web-only"] / rss["full"]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", default="torch,keras")
    parser.add_argument("--model", default="mlp", choices=sorted(CASES))
    parser.add_argument("--rows", type=int, default=0, help="dataset rows (0: the case's)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating local/store rounds per framework")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per job (the first is reported apart)")
    parser.add_argument("--threads", type=int, default=1, help="framework threads for both sides (0: defaults)")
    parser.add_argument("--download-mib", type=int, default=1024)
    parser.add_argument("--web-venv", default="", help="a venv built from requirements/web.txt alone, to size")
    parser.add_argument("--skip", default="", help="parts to leave out: epochs,download,install")
    args = parser.parse_args()
    skip = set(args.skip.split(","))

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from tests.support.s3_server import S3Server

    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench", password="bench-password-1")
    token = Token.objects.create(user=owner).key
    if args.threads:
        for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ[name] = str(args.threads)
    print(f"{os.cpu_count()} CPUs; load average {_load()}; var folder {VAR}; framework threads "
          f"{args.threads or 'default'}", flush=True)  # fmt: skip
    s3 = S3Server(VAR / "moto")
    s3.start()
    try:
        if "epochs" not in skip:
            frameworks = [f for f in args.frameworks.split(",") if f in ("torch", "keras")]
            epochs_bench(owner, s3, args.model, frameworks, args.rounds, args.epochs, args.rows or None)
        small = make_case_dataset(owner, "mlp", 2000)
        if "download" not in skip:
            download_bench(owner, token, small, s3, args.download_mib)
        if "install" not in skip:
            if "download" in skip:
                big_artifact(owner, small, 1)  # a job whose page the warm-up opens
            install_bench(owner, token, small, args.web_venv)
    finally:
        s3.stop()
    print(f"load average at the end {_load()}", flush=True)


if __name__ == "__main__":
    main()
