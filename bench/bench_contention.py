"""A job's epoch with and without one other busy process on the machine, before and after the thread sizing.

Runs the real job process (`workers.training.child`'s `main`, through bench_training's PLATFORM
harness, with the child's environment built as the supervisor builds it) for each framework,
quiet and with one busy process started by this benchmark (a pure-Python spin loop, one core's
worth of work), under two thread settings in the same run:

- after: the trainer's threads as workers/training/backends/threads.py sizes them by default
  (the cores this process may use minus one, at least 1) and OpenMP threads that sleep
  (OMP_WAIT_POLICY=PASSIVE, KMP_BLOCKTIME=0);
- before: what a job's process had before that: the frameworks' own defaults, a thread per
  core in every pool and OpenMP's default wait policy (it spins before it sleeps).

The thread variables of this benchmark's own environment (the suite's OMP_NUM_THREADS=1 and
the like) are removed for every run, so each setting is what it says. Prints, per framework
and setting, the median whole epoch (the first, warm-up, epoch of each job not counted) over
`--rounds` jobs quiet and as many contended, run in turn, and their ratio, with the median
process CPU seconds per epoch (all the job's threads: spinning shows there); the target is a ratio of at most 2.5 after.

Run: .venv/bin/python bench/bench_contention.py [--frameworks torch,keras] [--model mlp] [--rows 24000] [--epochs 4]
     [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_training import CASES, PLATFORM, ROOT, job_hyperparameters, make_case_dataset  # noqa: E402 - sets up Django

from bench.figures import Figure, record  # noqa: E402
from workers.training.backends import threads  # noqa: E402

SPIN = "while True:\n    pass\n"


def base_environment() -> dict[str, str]:
    """This process's environment without any thread variable (each setting adds its own)."""
    names = {*threads.THREAD_COUNTS, *threads.WAIT_POLICY, "LAYERLOOM_TRAINER_THREADS"}
    return {k: v for k, v in os.environ.items() if k not in names} | {"PYTHONPATH": str(ROOT)}


def setting_environment(setting: str) -> dict[str, str]:
    base = base_environment()
    if setting == "after":  # as the supervisor builds a job's environment, with the default setting
        return threads.child_environment(base, threads.trainer_threads(0))
    # before: every core to the job's pools (the frameworks' defaults), no wait policy
    return base | {"LAYERLOOM_TRAINER_THREADS": str(threads.available_cores())}


def job_epochs(owner, ds, model: str, framework: str, epochs: int, env: dict[str, str]) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """(wall, process CPU) seconds of each whole epoch of one real job, its first epoch dropped."""
    from workers.lifecycle import claim
    from workers.models import TrainingJob

    job = TrainingJob.objects.create(owner=owner, spec=CASES[model].spec, dataset=ds, dataset_version=1,
                                     framework=framework, hyperparameters=job_hyperparameters(CASES[model], epochs))  # fmt: skip
    token = claim(job.pk, "bench")
    out = Path(os.environ["LAYERLOOM_VAR_DIR"]) / f"contention-{job.pk}.json"
    done = subprocess.run([sys.executable, "-c", PLATFORM, str(job.pk), str(token), str(out), framework], cwd=ROOT,
                          capture_output=True, text=True, env=env)  # fmt: skip
    job.refresh_from_db()
    assert done.returncode == 0 and job.status == "succeeded", (job.error, done.stderr[-3000:])
    threads_line = [line for line in done.stderr.splitlines() if "threads:" in line]
    print(f"    {threads_line[-1].split(': ', 1)[1] if threads_line else '(no threads line)'}", flush=True)
    return [(wall, cpu) for wall, cpu in json.loads(out.read_text())][1:]


def measure(owner, ds, model: str, framework: str, setting: str, epochs: int, rounds: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Median epochs quiet and contended, over `rounds` jobs each, alternating (who goes first swaps)."""
    env = setting_environment(setting)
    seen: dict[str, list[tuple[float, float]]] = {"quiet": [], "contended": []}
    loads: dict[str, list[float]] = {"quiet": [], "contended": []}
    for r in range(rounds):
        for condition in ("quiet", "contended") if r % 2 == 0 else ("contended", "quiet"):
            spinner = subprocess.Popen([sys.executable, "-c", SPIN]) if condition == "contended" else None
            try:
                loads[condition].append(os.getloadavg()[0])
                times = job_epochs(owner, ds, model, framework, epochs, env)
            finally:
                if spinner is not None:
                    spinner.kill()
                    spinner.wait()
            seen[condition] += times
            print(f"  {framework} {model} {setting:6} {condition:9}: epochs (wall/CPU s) "
                  f"{' '.join(f'{wall:.2f}/{cpu:.2f}' for wall, cpu in times)} "
                  f"(load average at start {loads[condition][-1]:.2f})", flush=True)  # fmt: skip
    row = {condition: statistics.median(wall for wall, _ in times) for condition, times in seen.items()}
    # Process CPU seconds (all threads): threads that spin while they wait burn more of them when contended.
    row |= {f"{condition}_cpu": statistics.median(cpu for _, cpu in times) for condition, times in seen.items()}
    row |= {f"{condition}_load": statistics.mean(values) for condition, values in loads.items()}
    row["ratio"] = row["contended"] / row["quiet"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frameworks", default="torch,keras")
    parser.add_argument("--model", default="mlp", choices=sorted(CASES))
    parser.add_argument("--rows", type=int, default=24000, help="dataset rows (80%% train)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per job (the first, warm-up, is not counted)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="jobs per setting and condition, quiet and contended in turn"
    )
    args = parser.parse_args()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench-contention")
    ds = make_case_dataset(owner, args.model, args.rows)
    cores = threads.available_cores()
    print(f"cores this process may use: {cores}; default trainer threads {threads.trainer_threads(0)}; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    results = {}
    for framework in args.frameworks.split(","):
        for setting in ("before", "after"):
            row = measure(owner, ds, args.model, framework, setting, args.epochs, args.rounds)
            results[f"{framework} {setting}"] = row
            print(f"{framework:6} {args.model} {setting:6}: median epoch quiet {row['quiet']:.3f}s, contended "
                  f"{row['contended']:.3f}s, ratio {row['ratio']:.2f}; CPU seconds per epoch {row['quiet_cpu']:.3f} / "
                  f"{row['contended_cpu']:.3f} (mean load average at the starts "
                  f"{row['quiet_load']:.1f} / {row['contended_load']:.1f})", flush=True)  # fmt: skip
            after = setting == "after"
            record(Figure(f"{framework} {args.model}, {'the trainer' if after else 'the frameworks'}' threads: "
                          "median epoch beside one busy process", f"{row['contended']:.3f} s",
                          f"quiet: {row['quiet']:.3f} s", row["ratio"], "at most 2.5x" if after else "",
                          row["ratio"] <= 2.5 if after else None))  # fmt: skip
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
