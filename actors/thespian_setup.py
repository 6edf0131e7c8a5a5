"""The Thespian every krwfeed actor system runs on: patched, then built with ``CAPABILITIES``.

``prepare_thespian()`` applies, in the process that is about to build an actor system, every change
krwfeed makes to how Thespian's actor system behaves:

* ``bind_to_loopback()`` (``actors.loopback_transport``): every socket listens on, and is reached
  at, 127.0.0.1 only;
* ``fix_timer_rounding()`` (``actors.thespian_timers``): a wake-up due in under half a microsecond
  no longer leaves the transport's ``select()`` with no timeout.

Both change imported modules in memory, so they must come before the first ``ActorSystem(...)``
of the process, and the actor system must be built with ``CAPABILITIES`` (the fork start method)
so that the admin, its logger and every actor inherit them. Both are idempotent and both check the
installed Thespian first (``actors.thespian_pins``): ``ThespianMismatch`` if it is not the code
they were written for. The service calls this in ``actor_system.main``; every test that builds an
actor system calls it too (``tests/support/actor_systems.py``), so tests run on the same transport
and timers as production.

Not here: ``actors.process_guard.guard_actor_processes()``, which the service's main process
applies after this. It does not change how the actor system behaves but who owns its processes:
it makes the calling process a child subreaper that adopts Thespian's detached admin, and ties
each process's life to its parent's. That is the service's main process's policy, not the actor
system's; in a test runner it would make the runner adopt every orphaned process of the suite.
"""
from __future__ import annotations

from typing import Any

from actors.loopback_transport import bind_to_loopback
from actors.thespian_timers import fix_timer_rounding

# The start method matters: only forked processes inherit the patched modules.
CAPABILITIES: dict[str, Any] = {"Process Startup Method": "fork"}


def prepare_thespian() -> None:
    """Apply krwfeed's changes to Thespian in this process. Idempotent; call it before the first
    ``ActorSystem(...)`` of the process. Raises ``ThespianMismatch`` on an unexpected Thespian."""
    bind_to_loopback()
    fix_timer_rounding()
