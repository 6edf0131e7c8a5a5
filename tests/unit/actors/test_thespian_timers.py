"""A wake-up due in under half a microsecond still gives the transport a timeout to wait for."""
from __future__ import annotations

from datetime import timedelta

import pytest
from thespian.system.timing import ExpirationTimer, ExpirationTimerView

from actors.thespian_timers import fix_timer_rounding

pytestmark = pytest.mark.unit


def test_a_timer_nearly_due_keeps_a_nonzero_remaining_time() -> None:
    fix_timer_rounding()
    nearly_due = ExpirationTimerView(timedelta(seconds=1), 100.0, 100.0 - 3e-7)
    assert not nearly_due.expired()
    # The transport drops falsy delays: a zero here meant select() with no timeout at all.
    assert nearly_due.remaining()
    assert nearly_due.remaining() == timedelta(microseconds=1)


def test_expired_forever_and_ordinary_timers_are_unchanged() -> None:
    fix_timer_rounding()
    fix_timer_rounding()  # idempotent
    assert ExpirationTimerView(timedelta(seconds=1), 100.0, 100.5).remaining() == timedelta(0)
    assert ExpirationTimerView(None, None, 100.0).remaining("never") == "never"
    assert ExpirationTimerView(timedelta(seconds=2), 100.0, 98.75).remaining() == timedelta(seconds=1.25)
    assert timedelta(seconds=9) < ExpirationTimer(timedelta(seconds=10)).view().remaining() <= timedelta(seconds=10)
