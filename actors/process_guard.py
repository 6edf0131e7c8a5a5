"""Children die with their parent (thespian notes §4).

Thespian's top-level actors have no supervisor: if the supervisor process is killed, its children
are re-parented and keep running, holding sockets and Kafka connections. Each actor calls
``die_with_parent()`` in ``__init__``; Linux then sends it SIGTERM (which Thespian actor processes
treat as a shutdown) the moment its parent exits.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_PR_GET_PDEATHSIG = 2


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent exits. False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = _libc()
    if libc is None or libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    # The parent may have exited before prctl ran; then no signal would ever come.
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def parent_death_signal() -> int:
    """The signal currently registered with PR_SET_PDEATHSIG (0 if none)."""
    libc = _libc()
    if libc is None or not sys.platform.startswith("linux"):
        return 0
    value = ctypes.c_int(0)
    if libc.prctl(_PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0) != 0:
        return 0
    return value.value
