"""A timer due in under half a microsecond must not turn into "wait forever".

Thespian 4.0.1's TCP transport computes each ``select()`` timeout from the actor's next wake-up with
``filter(None, [run_time.remaining(), ...])``. ``ExpirationTimerView.remaining()`` returns a
``timedelta``, which rounds to whole microseconds: a timer that is not yet expired (``expired()``
compares the float times) but has less than 0.5 µs left becomes ``timedelta(0)``, which is falsy, so
it is filtered out. With no other delay pending the transport then calls ``select()`` with no timeout
and the actor's timers stop until some message or watched descriptor happens to wake it. A
connector reading its socket by timer (its socket unwatched while data flows) stopped that way:
CONNECTED, reading nothing, its stall check silent, for minutes at 2,000 msgs/s.

``fix_timer_rounding()`` makes ``remaining()`` of a timer that has not expired at least one
microsecond. Expired timers still report zero, and the transport's loop leaves before computing the
timeout for those. Like the loopback binding, the change lives in the imported module's memory and
forked actor processes inherit it (``actors.thespian_setup.prepare_thespian()`` applies both); it is
tied to the pinned Thespian code by fingerprint (``actors.thespian_pins``).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from actors.thespian_pins import check_thespian

_FINGERPRINTS = {
    "ExpirationTimerView.remaining": "5929b3f649d7a461",  # timedelta(seconds=remainingSeconds())
    "TCPTransport._runWithExpiry": "5a6c512c48e9fd0a",  # delays = filter(None, [remaining(), ...])
}
_ONE_MICROSECOND = timedelta(microseconds=1)


def _remaining(self: Any, forever: Any = None) -> Any:
    if self._time_to_quit is None:
        return forever
    left = self.remainingSeconds()
    if left <= 0:
        return timedelta(0)
    return max(timedelta(seconds=left), _ONE_MICROSECOND)


_remaining.krwfeed_fixed = True  # type: ignore[attr-defined]


def fix_timer_rounding() -> None:
    """Idempotent; call it before the first ``ActorSystem(...)`` of the process."""
    from thespian.system import timing
    from thespian.system.transport import TCPTransport

    view = timing.ExpirationTimerView
    if getattr(view.remaining, "krwfeed_fixed", False):
        return
    check_thespian(_FINGERPRINTS, {
        "ExpirationTimerView.remaining": view.remaining,
        "TCPTransport._runWithExpiry": TCPTransport.TCPTransport._runWithExpiry,
    }, "the timer rounding fix")
    view.remaining = _remaining
