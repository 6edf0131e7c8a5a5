"""Every process of the actor system dies with the service's main process.

Thespian's processes outlive whoever started them: the admin detaches itself (``setsid`` and a
second fork, so its parent is init), and its logger, the supervisor and every actor are plain
children that are re-parented and keep running, holding sockets and Kafka connections, when
their parent dies. Left alone, a SIGKILL of the main process leaves the whole actor system
publishing with no web server and no owner.

``die_with_parent()`` (``prctl(PR_SET_PDEATHSIG)``) asks Linux to signal a process the moment its
parent exits. ``guard_actor_processes()``, called by the composition root before the actor system
starts, makes the main process a child subreaper (so the detached admin is re-parented to it, not
to init) and wraps Thespian's process entry points so that:

* the admin waits until it has been re-parented to the main process, then dies (SIGKILL) with it;
* the admin's logger and the supervisor die (SIGKILL) with the admin. Not SIGTERM: Thespian turns
  that into an orderly actor exit, and a supervisor doing that with its admin gone was measured
  still alive more than 10 s later;
* the supervisor's children (connectors, buffer, producers) start with SIGKILL too, and their
  ``__init__`` replaces it with SIGTERM (``die_with_parent()``'s default): their orderly exit needs
  nobody above them, and it lets the producers try to hand what they hold to Kafka.

So one death anywhere up the tree takes down everything below it within moments. The wrappers are
tied to the pinned Thespian code by fingerprints (``actors.thespian_pins``), like the loopback
binding.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from actors.thespian_pins import check_thespian

_PR_SET_PDEATHSIG = 1
_PR_GET_PDEATHSIG = 2
_PR_SET_CHILD_SUBREAPER = 36
# How long the admin may wait for its detaching parent to exit before it gives up on the service.
_ADOPTION_WAIT_S = 5.0

# sha256 (first 16 hex digits) of the Thespian 4.0.1 functions wrapped or relied on here.
_FINGERPRINTS = {
    "startAdmin": "7ed08672cf9706e9",  # setsid, fork, then adminClass(...) in the grandchild
    "startChild": "607959bb35500ad9",  # the entry point of every actor process
    "startupASLogger": "927620b7a7fdc3fa",  # the entry point of the admin's logger process
    "startASLogger": "6299a3569600b855",  # looks startupASLogger up in multiprocCommon at call time
    "multiprocessCommon._startAdmin": "c43a44d6f441ac65",  # looks startAdmin up likewise
    "MultiProcReplicator._startChildActor": "74875e11f52c4dbd",  # looks startChild up likewise
}


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


def become_subreaper() -> bool:
    """Orphaned descendants of this process are re-parented to it instead of to init."""
    libc = _libc()
    if libc is None or not sys.platform.startswith("linux"):
        return False
    return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def _await_adoption(main_pid: int, timeout_s: float = _ADOPTION_WAIT_S) -> None:
    """In the admin, right after Thespian's detaching fork: wait for the intermediate parent to exit
    and this process to be re-parented to the main process (its subreaper), then die with it. If the
    main process is already gone, exit now: nobody owns this actor system."""
    detaching_parent = os.getppid()
    deadline = time.monotonic() + timeout_s
    while os.getppid() == detaching_parent and detaching_parent != main_pid and time.monotonic() < deadline:
        time.sleep(0.001)
    if os.getppid() != main_pid or not die_with_parent(signal.SIGKILL):
        os._exit(1)


def _adopted_admin(admin_class: type, main_pid: int) -> type:
    class AdoptedAdmin(admin_class):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            _await_adoption(main_pid)
            super().__init__(*args, **kwargs)

    AdoptedAdmin.__name__ = AdoptedAdmin.__qualname__ = admin_class.__name__  # the process title Thespian sets
    return AdoptedAdmin


def _dying_with_parent(entry: Callable[..., Any], sig: int) -> Callable[..., Any]:
    @functools.wraps(entry)
    def entry_point(*args: Any, **kwargs: Any) -> Any:
        die_with_parent(sig)
        return entry(*args, **kwargs)

    entry_point.krwfeed_guarded = True  # type: ignore[attr-defined]
    return entry_point


def guard_actor_processes() -> bool:
    """Called once in the main process before the actor system starts (see the module docstring).
    Returns False where Linux's prctl is not available (nothing is changed then)."""
    from thespian.system import multiprocCommon as mp

    if getattr(mp.startChild, "krwfeed_guarded", False):
        return True
    check_thespian(_FINGERPRINTS, {
        "startAdmin": mp.startAdmin, "startChild": mp.startChild, "startupASLogger": mp.startupASLogger,
        "startASLogger": mp.startASLogger, "multiprocessCommon._startAdmin": mp.multiprocessCommon._startAdmin,
        "MultiProcReplicator._startChildActor": mp.MultiProcReplicator._startChildActor,
    }, "tying the actor processes' lifetime to the main process")
    if not become_subreaper():
        return False
    main_pid = os.getpid()
    original_start_admin = mp.startAdmin

    @functools.wraps(original_start_admin)
    def start_admin(admin_class: type, *args: Any) -> Any:
        return original_start_admin(_adopted_admin(admin_class, main_pid), *args)

    mp.startAdmin = start_admin
    mp.startupASLogger = _dying_with_parent(mp.startupASLogger, signal.SIGKILL)
    mp.startChild = _dying_with_parent(mp.startChild, signal.SIGKILL)
    return True


def reap_children() -> None:
    """Collect the exit status of finished children (a subreaper inherits the admin's zombies)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
