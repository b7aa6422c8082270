import time

from workers.training.epoch_clock import EpochClock


def test_sleep_counts_as_wall_time_not_cpu_time() -> None:
    clock = EpochClock()
    time.sleep(0.3)
    took = clock.read()
    assert took["epoch_seconds"] >= 0.3
    # Not zero: process CPU time includes any other thread of the test process.
    assert took["epoch_cpu_seconds"] < 0.15


def test_work_counts_as_cpu_time() -> None:
    clock = EpochClock()
    deadline = time.perf_counter() + 0.2
    while time.perf_counter() < deadline:
        sum(range(1000))
    took = clock.read()
    assert took["epoch_seconds"] >= 0.2
    assert took["epoch_cpu_seconds"] > 0.05
