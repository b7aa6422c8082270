"""Audio: the fitted preset against logistic regression, and ingestion against a bare loop.

The data is the tests' spoken-word set made larger: 8 words said by espeak-ng in 10 voices at
4 speeds and pitches, each as 2 takes "as recorded" (starting up to 0.3 s late, at 30-100% of
the level, over a faint hiss): 640 WAV clips at 22,050 Hz in one zip of class folders.

1. Accuracy: the zip goes through the real ingestion (split 60/20/20); the audio_cnn preset,
   fitted to it, trains with the default hyperparameters in the real job process
   (workers.training.child) for each framework; its test accuracy is printed next to
   scikit-learn's logistic regression on the same log-mel arrays and the same split.
2. Ingestion speed: clips per second of the kind's whole ingestion (zip checks, decoding,
   resampling, spectrograms, the split arrays, the page's samples and profile) against a bare
   loop over the same zip members that only decodes (soundfile), resamples (resample_poly),
   cuts or pads and makes the log-mel spectrogram, written two ways (scipy's ShortTimeFFT with
   the mel matrix, as the kind computes it, and librosa.feature.melspectrogram); the faster
   bare loop is the reference. Both sides run in this process after one untimed warm-up pass
   each (imports, numba's compile, caches: what a long-lived worker has paid already), then in
   alternating rounds; the medians are compared.

Run: .venv/bin/python bench/bench_audio.py [--rounds 5] [--frameworks keras,torch] [--takes 2]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LAYERLOOM_VAR_DIR", tempfile.mkdtemp(prefix="layerloom-bench-audio-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
os.environ["LAYERLOOM_EXPORT_ARTIFACTS"] = "0"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import soundfile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from scipy.signal import ShortTimeFFT, get_window, resample_poly  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402

from bench.figures import Figure, record  # noqa: E402
from builder.datasets.arrays import load_split  # noqa: E402
from builder.datasets.kinds import get_kind  # noqa: E402
from builder.datasets.kinds.audio import features  # noqa: E402
from builder.datasets.kinds.base import PresetFacts  # noqa: E402
from builder.datasets.limits import Limits  # noqa: E402
from builder.datasets.materialise import materialise  # noqa: E402
from builder.datasets.options import validate_options  # noqa: E402
from tests.support.spoken_words import VOICES, WORDS, recorded_takes, spoken_words, zip_clips  # noqa: E402

STYLES = ((120, 30), (150, 50), (175, 70), (140, 85))  # (words per minute, pitch)
SPLIT = [0.6, 0.2, 0.2]


def make_zip(takes: int) -> bytes:
    return zip_clips(recorded_takes(spoken_words(WORDS, VOICES, STYLES), takes))


# --- 1. accuracy -----------------------------------------------------------------------------


def ingest_dataset(owner, source: Path):  # type: ignore[no-untyped-def]
    from builder.models import Dataset

    ds = Dataset.objects.create(owner=owner, name="spoken words", kind="audio", status="processing", sha256="0" * 64)
    result = materialise("audio", source, validate_options("audio", {"split": SPLIT}), ds.version_dir, Limits())
    ds.status, ds.task, ds.input_shape = "ready", result.task, result.input_shape
    ds.class_names, ds.num_classes, ds.profile = result.class_names, result.num_classes, result.profile
    ds.save()
    return ds


def preset_accuracy(owner, ds, framework: str) -> tuple[float, int, float]:  # type: ignore[no-untyped-def]
    """(test accuracy, epochs, seconds) of the fitted audio preset, default hyperparameters, real job process."""
    from workers.lifecycle import claim
    from workers.models import TrainingJob

    facts = PresetFacts(ds.input_shape, ds.task, ds.num_classes, ds.profile)
    spec = get_kind("audio").fit_preset("audio_cnn", facts)
    job = TrainingJob.objects.create(owner=owner, spec=spec, dataset=ds, dataset_version=1, framework=framework,
                                     hyperparameters={"device": "cpu"})  # fmt: skip
    token = claim(job.pk, "bench")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "workers.training.child", str(job.pk), str(token)], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    took = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return float(job.evaluation["accuracy"]), job.metrics.count(), took


def baseline_accuracy(version_dir: Path) -> float:
    """Logistic regression on the same log-mel arrays (flattened), same split."""
    X_train, y_train = (np.asarray(a) for a in load_split(version_dir, "train"))
    X_test, y_test = (np.asarray(a) for a in load_split(version_dir, "test"))
    model = LogisticRegression(max_iter=3000).fit(X_train.reshape(len(X_train), -1), y_train)
    return float(accuracy_score(y_test, model.predict(X_test.reshape(len(X_test), -1))))


# --- 2. ingestion speed ----------------------------------------------------------------------


def bare_scipy(source: Path, audio: dict) -> int:
    """Decode, resample, cut or pad, log-mel with scipy's STFT and the mel matrix: nothing else."""
    rate, length, hop = audio["sample_rate"], audio["clip_samples"], audio["hop_length"]
    window = get_window("hann", audio["win_length"]).astype(np.float32)
    stft = ShortTimeFFT(window, hop, fs=rate, mfft=audio["n_fft"])
    mel = features.mel_matrix(audio)
    done = 0
    with zipfile.ZipFile(source) as archive:
        for name in archive.namelist():
            samples, source_rate = soundfile.read(io.BytesIO(archive.read(name)), dtype="float32")
            ratio = Fraction(rate, source_rate)
            samples = resample_poly(samples, ratio.numerator, ratio.denominator)[:length]
            samples = np.pad(samples, (0, length - len(samples)))
            power = mel @ stft.spectrogram(samples, p0=0, p1=length // hop + 1)
            db = 10 * np.log10(np.maximum(power, 1e-10) / max(power.max(), 1e-10))
            np.maximum(db, -80.0)
            done += 1
    return done


def bare_librosa(source: Path, audio: dict) -> int:
    """The same with librosa.feature.melspectrogram and librosa.power_to_db."""
    import librosa

    rate, length = audio["sample_rate"], audio["clip_samples"]
    done = 0
    with zipfile.ZipFile(source) as archive:
        for name in archive.namelist():
            samples, source_rate = soundfile.read(io.BytesIO(archive.read(name)), dtype="float32")
            ratio = Fraction(rate, source_rate)
            samples = librosa.util.fix_length(resample_poly(samples, ratio.numerator, ratio.denominator), size=length)
            power = librosa.feature.melspectrogram(y=samples, sr=rate, n_fft=audio["n_fft"],
                                                   hop_length=audio["hop_length"], win_length=audio["win_length"],
                                                   n_mels=audio["n_mels"])  # fmt: skip
            librosa.power_to_db(power, ref=np.max, top_db=80.0)
            done += 1
    return done


def ingestion(source: Path, folder: Path) -> int:
    target = folder / "v1"
    result = materialise("audio", source, validate_options("audio", {"split": SPLIT}), target, Limits())
    shutil.rmtree(target)
    return int(result.profile["clips"])


def timed(run) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5, help="alternating timed rounds of each side")
    parser.add_argument("--frameworks", default="keras,torch", help="frameworks to train the preset with (none: skip)")
    parser.add_argument("--takes", type=int, default=2, help="recordings of each word, voice and style")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create_user("bench")
    print(f"CPU threads available: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-audio-"))
    source = work / "words.zip"
    source.write_bytes(make_zip(args.takes))
    with zipfile.ZipFile(source) as archive:
        clips = len(archive.namelist())
    print(f"spoken-word set: {len(WORDS)} words x {len(VOICES)} voices x {len(STYLES)} styles x {args.takes} takes "
          f"= {clips} WAV clips, {source.stat().st_size / 2**20:.1f} MiB zip", flush=True)  # fmt: skip

    ds = ingest_dataset(owner, source)
    audio = json.loads((ds.version_dir / "preprocessing.json").read_text())["audio"]
    print(f"ingested: input {ds.input_shape}, splits {ds.profile['splits']}", flush=True)
    figures: dict = {"clips": clips, "splits": ds.profile["splits"]}
    reference = baseline_accuracy(ds.version_dir)
    print(f"logistic regression on the log-mel arrays: test accuracy {reference:.4f}", flush=True)
    figures["logistic_regression"] = reference
    for framework in [f for f in args.frameworks.split(",") if f in ("keras", "torch")]:
        accuracy, epochs, took = preset_accuracy(owner, ds, framework)
        print(f"audio_cnn preset, {framework}, default hyperparameters: test accuracy {accuracy:.4f} "
              f"({epochs} epochs, {took:.0f} s; {accuracy - reference:+.4f} against logistic regression)", flush=True)  # fmt: skip
        figures[f"audio_cnn_{framework}"] = {"accuracy": accuracy, "epochs": epochs, "seconds": round(took, 1)}
        record(Figure(f"audio_cnn preset, {framework}, test accuracy ({epochs} epochs, {took:.0f} s)", f"{accuracy:.3f}",
                      f"logistic regression on the same features: {reference:.3f}", accuracy / reference,
                      "above logistic regression", accuracy > reference))  # fmt: skip

    sides = {
        "ingestion": lambda: ingestion(source, work),
        "bare scipy": lambda: bare_scipy(source, audio),
        "bare librosa": lambda: bare_librosa(source, audio),
    }
    for run in sides.values():  # warm-up: imports, numba's compile, file caches
        run()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, run in sides.items():
            times[name].append(timed(run))
    rates = {name: clips / statistics.median(values) for name, values in times.items()}
    for name, rate in rates.items():
        print(f"{name}: {rate:,.0f} clips/s (median of {args.rounds}: "
              + ", ".join(f"{t:.2f}s" for t in times[name]) + ")")  # fmt: skip
    bare = max(rates["bare scipy"], rates["bare librosa"])
    ratio = bare / rates["ingestion"]
    print(f"ingestion takes {ratio:.2f}x the time of the faster bare loop (target: within 1.3x)")
    record(Figure(f"ingestion of {clips} clips, median of {args.rounds}", f"{rates['ingestion']:,.0f} clips/s",
                  f"the faster bare loop: {bare:,.0f} clips/s", ratio, "within 1.3x", ratio <= 1.3))  # fmt: skip
    figures.update({"clips_per_second": {k: round(v, 1) for k, v in rates.items()}, "ingestion_over_bare": ratio})
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print(json.dumps(figures))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
