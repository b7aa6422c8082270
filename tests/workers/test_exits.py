"""How a job's process ended, in words: the OOM killer only when the cgroup counted one."""

from __future__ import annotations

import signal

from workers.exits import describe_exit


def test_a_sigkill_is_a_signal_unless_the_cgroup_counted_an_oom_kill():
    plain = describe_exit(-signal.SIGKILL, 4, 4)
    assert plain.message == "The training process was killed by signal 9 (SIGKILL)." and plain.resumable
    unknown = describe_exit(-signal.SIGKILL, None, None)  # counters not readable: no guess
    assert "out-of-memory" not in unknown.message and unknown.resumable
    oom = describe_exit(-signal.SIGKILL, 4, 5)
    assert "kernel's out-of-memory killer (signal 9, SIGKILL)" in oom.message and oom.resumable


def test_crashes_inside_the_process_fail_the_job():
    assert not describe_exit(-signal.SIGABRT).resumable
    assert not describe_exit(-signal.SIGSEGV).resumable
    assert not describe_exit(3).resumable and "exit code 3" in describe_exit(3).message
    assert describe_exit(-signal.SIGTERM).message == "The training process was killed by signal 15 (SIGTERM)."

