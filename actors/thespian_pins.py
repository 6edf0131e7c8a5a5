"""krwfeed's changes to Thespian are tied to the exact Thespian code they were written against.

Three modules change private Thespian code at start: ``loopback_transport`` (where every socket
binds), ``thespian_timers`` (the rounding of a wake-up's remaining time) and ``process_guard`` (the
entry points of the admin, its logger and every actor). None of that code is a public API: a new
Thespian release may rename, reorder or rewrite it without notice. Replacing a function that
changed, or wrapping one whose callers changed, would not raise anything; it would just stop doing
its job, and the service would run as if it had, e.g. listening on every interface again, or an
actor's timers stopping.

So each patch names the pieces of Thespian it replaces or relies on, with a fingerprint of their
source as it was when the patch was written, and ``check_thespian`` refuses anything else before the
patch is applied: another Thespian version, or any piece whose source differs, raises
``ThespianMismatch``, and the service exits at start with that one line (``actor_system.main``)
instead of running on code nobody checked. Fingerprints are the first 16 hex digits of the sha256
of ``inspect.getsource()``; a piece with no source to read never matches.
"""
from __future__ import annotations

import hashlib
import inspect
from importlib import metadata
from typing import Any

THESPIAN_VERSION = "4.0.1"


class ThespianMismatch(RuntimeError):
    """The installed Thespian is not the code one of krwfeed's changes to it was written for."""


def fingerprint(obj: Any) -> str:
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):  # no source to check (compiled-only install, or not Thespian's code)
        return "no source"
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def check_thespian(fingerprints: dict[str, str], pieces: dict[str, Any], purpose: str) -> None:
    """Raise ``ThespianMismatch`` unless Thespian is the pinned version and each piece is unchanged."""
    installed = metadata.version("thespian")
    if installed != THESPIAN_VERSION:
        raise ThespianMismatch(f"thespian {installed} is installed; krwfeed needs thespian=={THESPIAN_VERSION} "
                               f"({purpose} is written against that version's code)")
    changed = [name for name, obj in pieces.items() if fingerprint(obj) != fingerprints[name]]
    if changed:
        raise ThespianMismatch(f"thespian {installed} differs from the code krwfeed expects in "
                               f"{', '.join(changed)} ({purpose}); reinstall thespian=={THESPIAN_VERSION}")
