#!/usr/bin/env bash
# Real jobs on CUDA, for a machine with an NVIDIA GPU (about five minutes after `make setup`):
# the job's child process on the GPU in both frameworks with the export, the endpoint and the
# bundle's predict.py agreeing with the evaluation; mixed precision (float16) training and
# export; a worker killed mid-job whose job resumes from its checkpoint on the GPU and ends equal
# to an uninterrupted run. Every job asks for device "cuda" (LAYERLOOM_TEST_DEVICE) and each test
# checks the job ran on a GPU. Exits 2 at once where no GPU is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU is visible here (nvidia-smi); nothing was run." >&2
  exit 2
fi
nvidia-smi -L
export LAYERLOOM_TEST_DEVICE=cuda
T=tests/workers/test_train_end_to_end.py::test_a_job_trains_evaluates_exports_and_serves_what_it_evaluated
K=tests/faults/test_kill_worker.py::test_a_killed_worker_resumes_and_ends_as_an_uninterrupted_run
exec .venv/bin/python -m pytest -p no:cacheprovider -q --timeout 300 \
  "$T[tabular-torch]" "$T[tabular-keras]" "$T[images-torch]" "$T[images-keras]" "$T[regression-torch]" \
  tests/workers/test_mixed_precision.py "$K[torch]" "$K[keras]" "$@"
