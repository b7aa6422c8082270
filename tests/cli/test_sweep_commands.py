"""layerloom sweep create|show|follow|cancel|publish, run as a process against a live server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from builder.models import Architecture
from sweeps.models import Sweep, SweepTrial
from tests.api.conftest import make_job
from tests.cli.test_client import layerloom
from tests.workers.helpers import SPECS, make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cli(live_server: Any, alice: Any, tmp_path: Path) -> Any:
    token = Token.objects.get_or_create(user=alice)[0].key

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return layerloom(tmp_path, "--url", live_server.url, "--token", token, *args, check=check)

    return run


def test_create_parses_vary_and_bad_input_is_named(cli: Any, alice: Any) -> None:
    dataset = make_dataset(alice, "tabular", n=60)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"])
    common = ["sweep", "create", "--dataset", str(dataset.pk), "--architecture", str(arch.pk), "--framework", "torch"]
    result = cli(*common, "--vary", "learning_rate=0.0001..0.1:log", "--vary", "layers.h.units=8..32:int:step=8",
                 "--vary", "optimizer=adam,sgd", "--hp", "epochs=3", "--trials", "4", "--method", "tpe")  # fmt: skip
    created = json.loads(result.stdout)
    sweep = Sweep.objects.get(pk=created["id"])
    assert sweep.space == {"learning_rate": {"low": 0.0001, "high": 0.1, "log": True},
                           "layers.h.units": {"low": 8, "high": 32, "integer": True, "step": 8},
                           "optimizer": {"values": ["adam", "sgd"]}}  # fmt: skip
    assert (sweep.method, sweep.max_trials, sweep.hyperparameters) == ("tpe", 4, {"epochs": 3})
    bad = cli(*common, "--vary", "learning_rat=0.001..0.1", check=False)
    assert bad.returncode == 1 and "space.learning_rat" in bad.stderr and "Unknown setting" in bad.stderr
    usage = cli(*common, "--vary", "learning_rate=0.001..0.1:cubic", check=False)
    assert usage.returncode == 2 and "unknown flag 'cubic'" in usage.stderr
    # Cancel ends it, and following an ended sweep that did not finish exits 3.
    cancelled = json.loads(cli("sweep", "cancel", str(sweep.pk)).stdout)
    assert cancelled["status"] == "cancelled"
    followed = cli("sweep", "follow", str(sweep.pk), check=False)
    assert followed.returncode == 3 and f"sweep {sweep.pk} cancelled" in followed.stderr


def test_follow_and_show_say_each_trial_and_the_honest_winner(cli: Any, alice: Any) -> None:
    dataset = make_dataset(alice, "tabular", n=60)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"])
    winner = make_job(alice, dataset, arch, status="succeeded", epoch=5, evaluation={"split": "test", "accuracy": 0.9})
    pruned = make_job(alice, dataset, arch, status="pruned", epoch=2)
    sweep = Sweep.objects.create(
        owner=alice, dataset=dataset, framework="torch", status="finished", winner=winner, max_trials=2,
        architectures=[{"id": arch.pk, "name": "tiny", "spec": arch.spec}],
        space={"learning_rate": {"values": [0.05, 1e-6]}}, method="grid",
        note="Ended when 2 trials ran. Trial 0 has the best val_loss on the validation split; it alone is "
        "evaluated on the test split. On the test split: accuracy 0.9.",
    )  # fmt: skip
    SweepTrial.objects.create(sweep=sweep, number=0, params={"learning_rate": 0.05}, job=winner, value=0.31)
    SweepTrial.objects.create(sweep=sweep, number=1, params={"learning_rate": 1e-6}, job=pruned)
    result = cli("sweep", "follow", str(sweep.pk))
    assert f"trial 0 job {winner.pk} succeeded epochs=5 val_loss=0.31 learning_rate=0.05" in result.stderr
    assert f"trial 1 job {pruned.pk} pruned (stopped early by its sweep) epochs=2" in result.stderr
    assert "it alone is evaluated on the test split" in result.stderr
    body = json.loads(result.stdout)
    assert body["winner"] == winner.pk and body["winner_test_evaluation"] == {"split": "test", "accuracy": 0.9}
    table = cli("sweep", "show", str(sweep.pk), "--output", "table").stdout
    assert table.startswith(f"sweep {sweep.pk} finished (compared on val_loss, validation split only)")
    listed = cli("sweep", "list", "--output", "table").stdout
    assert str(sweep.pk) in listed and "finished" in listed and str(winner.pk) in listed
