"""Children die with their parent: die_with_parent() (prctl PR_SET_PDEATHSIG) on a real process tree."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from actors.process_guard import parent_death_signal

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

_PARENT = r"""
import os, sys, time
guard = sys.argv[1] == "guard"
pid = os.fork()
if pid == 0:
    if guard:
        from actors.process_guard import die_with_parent
        die_with_parent()
    time.sleep(30)
    os._exit(0)
print(pid, flush=True)
time.sleep(30)
"""


def _child_after_parent_killed(mode: str) -> psutil.Process | None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, mode], stdout=subprocess.PIPE, text=True,
                              cwd=REPO)
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    time.sleep(0.3)  # let the child run its prctl
    parent.send_signal(signal.SIGKILL)
    parent.wait(5)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if not child.is_running() or child.status() == psutil.STATUS_ZOMBIE:
            return None
        time.sleep(0.05)
    return child


def test_guarded_child_dies_when_its_parent_is_killed() -> None:
    assert _child_after_parent_killed("guard") is None


def test_unguarded_child_would_be_orphaned() -> None:
    orphan = _child_after_parent_killed("plain")
    assert orphan is not None  # the control case: without the guard the child lives on
    orphan.kill()
    orphan.wait(5)


def test_registered_signal_is_sigterm() -> None:
    code = "from actors.process_guard import die_with_parent, parent_death_signal as p; die_with_parent(); print(p())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO).stdout
    assert int(out) == signal.SIGTERM
    assert parent_death_signal() in (0, signal.SIGTERM)  # this test process itself is untouched
