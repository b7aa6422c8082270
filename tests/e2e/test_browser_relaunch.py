"""The browser tests' own harness: a Chromium that has gone away (crashed) is launched again for
the next test, so one crash fails one test and not every browser test after it."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import new_context

pytestmark = pytest.mark.one_backend


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _our_chromium_processes() -> set[int]:
    """This test process's Chromium processes (another pass's browsers on the machine are not ours)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"--remote-debugging-pipe" not in (entry / "cmdline").read_bytes():
                continue
            pid = ancestor = int(entry.name)
            while ancestor > 1 and ancestor != os.getpid():
                ancestor = _parent(ancestor)
        except (OSError, ValueError, IndexError):  # it ended while we looked
            continue
        if ancestor == os.getpid():
            found.add(pid)
    return found


def test_a_browser_that_crashed_is_launched_again_for_the_next_context(_playwright: Any) -> None:
    holder: dict[str, Any] = {}
    before = _our_chromium_processes()
    context = new_context(_playwright, holder)
    first = holder["browser"]
    context.close()
    launched = _our_chromium_processes() - before
    assert launched
    for pid in launched:  # as a crash ends it: no goodbye to Playwright
        os.kill(pid, signal.SIGKILL)
    try:
        context = new_context(_playwright, holder)
        assert holder["browser"] is not first and holder["browser"].is_connected()
        page = context.new_page()
        page.set_content("<p id='said'>launched again</p>")
        assert page.inner_text("#said") == "launched again"
    finally:
        holder["browser"].close()
