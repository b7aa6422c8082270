"""Checkpoint state: whose it is, and the host's random-number generators, round-tripped."""

from __future__ import annotations

import random

import numpy as np

from workers.training import checkpoints

MINE = {"job": 7, "created": "2026-11-30T07:00:00.000001+00:00", "storage_key": ""}


def test_only_the_job_that_wrote_a_checkpoint_loads_it(tmp_path, caplog):
    checkpoints.save_state(tmp_path, MINE, {"framework": "torch", "epoch": 2})
    assert checkpoints.load_state(tmp_path, "torch", dict(MINE))["epoch"] == 2
    assert checkpoints.load_state(tmp_path, "keras", MINE) is None
    # Same id, another job (the database was reset): refused, and said so.
    other = {**MINE, "created": "2026-12-01T08:00:00+00:00"}
    assert checkpoints.load_state(tmp_path, "torch", other) is None
    assert "job 7: ignoring a checkpoint" in caplog.text


def test_python_and_numpy_generators_continue_where_the_checkpoint_left_them(tmp_path):
    random.seed(3)
    np.random.seed(3)
    checkpoints.save_state(tmp_path, MINE, {"framework": "torch", "epoch": 1})
    expected = (random.random(), np.random.rand(3).tolist())
    random.seed(99)
    np.random.seed(99)
    checkpoints.restore_host_rng(checkpoints.load_state(tmp_path, "torch", MINE))
    assert (random.random(), np.random.rand(3).tolist()) == expected
