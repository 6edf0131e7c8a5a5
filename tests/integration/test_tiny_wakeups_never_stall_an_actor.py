"""An actor re-arming ``wakeupAfter`` with delays of a few microseconds and less, thousands of times,
while it watches a socket, gets every wake-up, in a real multiprocTCPBase actor system prepared as
the service prepares it (``prepare_thespian()``).

The failure guarded against (``actors/thespian_timers.py``): when the transport looks at the next
wake-up with less than 0.5 µs left, Thespian 4.0.1 rounds the remaining time to ``timedelta(0)``,
drops it as falsy and calls ``select()`` with no timeout; with the watched socket quiet, the actor
then sleeps until a message happens to come, and its timers stop. The delays here sweep the range
around the time one wake-up takes to re-arm and come back round to the transport, so some of them
land in that half-microsecond window; the zero and sub-microsecond ones are already due when the
transport first looks and must still be delivered at once. The bound is a hang guard, not a
performance figure: the test only waits passively for the actor's answer, so a stalled actor is
never woken by the test itself. With ``fix_timer_rounding()`` left out of ``prepare_thespian()``
this test failed in every run tried, the wake-ups stopping after 28 to 40 of the 4,000; with it,
all 4,000 arrive in about 4 s (each wait is at least select()'s 1 ms).
"""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from thespian.actors import Actor, ActorExitRequest, ActorSystem, ThespianWatch, WakeupMessage

from tests.integration.tooling import free_port
from tests.support.actor_systems import actor_system

pytestmark = pytest.mark.integration

WAKEUPS = 4000
HANG_GUARD_S = 30.0
# Below a microsecond (as floats, which Thespian keeps unrounded), zero, then a sweep in 0.1 µs steps
# up to 40 µs: every re-arm lands somewhere else relative to when the transport next looks.
_DUE_AT_ONCE: tuple[Any, ...] = (timedelta(0), 0.0, 1e-7, 3e-7, 4.9e-7, 9e-7, timedelta(microseconds=1))
_SWEEP = tuple(round(step * 1e-7, 7) for step in range(1, 401))


def delays(count: int) -> tuple[Any, ...]:
    cycle = _DUE_AT_ONCE + _SWEEP
    return tuple(cycle[i % len(cycle)] for i in range(count))


@dataclass(frozen=True)
class Rearm:
    delays: tuple[Any, ...]


@dataclass(frozen=True)
class Rearmed:
    wakeups: int
    timer_fix_in_actor: bool  # the forked actor process runs the patched ExpirationTimerView


class RearmingActor(Actor):
    """On ``Rearm``: one wake-up per delay, each armed by the previous one, all the while watching
    one end of a socket pair nobody writes to; answers ``Rearmed`` after the last. ``"fired"`` asks
    how many wake-ups have arrived so far."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quiet, self.other_end = socket.socketpair()
        self.requester: Any = None
        self.pending: tuple[Any, ...] = ()
        self.fired = 0

    def _watch(self) -> ThespianWatch:
        return ThespianWatch([self.quiet.fileno()])

    def receiveMessage(self, msg: Any, sender: Any) -> ThespianWatch | None:
        if isinstance(msg, Rearm):
            self.requester, self.pending, self.fired = sender, msg.delays, 0
            self.wakeupAfter(self.pending[0])
        elif isinstance(msg, WakeupMessage):
            self.fired += 1
            if self.fired < len(self.pending):
                self.wakeupAfter(self.pending[self.fired])
            else:
                from thespian.system.timing import ExpirationTimerView

                fixed = bool(getattr(ExpirationTimerView.remaining, "krwfeed_fixed", False))
                self.send(self.requester, Rearmed(self.fired, fixed))
        elif isinstance(msg, ActorExitRequest):
            self.quiet.close()
            self.other_end.close()
            return None
        elif msg == "fired":
            self.send(sender, self.fired)
        return self._watch()


@pytest.fixture
def asys() -> Iterator[ActorSystem]:
    with actor_system(free_port(21800, 21899)) as system:
        yield system


def test_thousands_of_sub_microsecond_and_zero_wakeups_all_arrive_and_the_actor_stays_responsive(
        asys: ActorSystem) -> None:
    actor = asys.createActor(RearmingActor)
    began = time.monotonic()
    answer = asys.ask(actor, Rearm(delays(WAKEUPS)), HANG_GUARD_S)
    took = time.monotonic() - began
    if not isinstance(answer, Rearmed):
        # This ask is a message, so it wakes a stalled actor up: it tells how far the wake-ups got.
        fired = asys.ask(actor, "fired", 5)
        pytest.fail(f"no answer after {took:.1f} s: the actor's wake-ups stopped after {fired} of {WAKEUPS}")
    assert answer.wakeups == WAKEUPS
    assert answer.timer_fix_in_actor
    assert took < HANG_GUARD_S
    assert asys.ask(actor, "fired", 5) == WAKEUPS  # still answering once the timers are done
