"""Pings at the configured interval; stalls detected by the configured timeouts (seed S2.1-g/j)."""
from __future__ import annotations

import pytest

from connectors.liveness import Liveness

pytestmark = pytest.mark.unit


def test_S2_1_g_ping_due_exactly_at_the_configured_interval() -> None:
    live = Liveness(ping_interval_s=30.0, pong_timeout_s=10.0, stale_timeout_s=45.0)
    live.start(0.0)
    assert not live.ping_due(29.9)
    assert live.ping_due(30.0)
    assert live.next_check_in(0.0) == 30.0


def test_S2_1_g_missing_pong_after_the_configured_timeout_is_a_stall() -> None:
    live = Liveness(ping_interval_s=30.0, pong_timeout_s=10.0, stale_timeout_s=45.0)
    live.start(0.0)
    live.pinged(30.0)
    assert live.stall_reason(39.9) == ""
    assert "pong_timeout_s=10.0" in live.stall_reason(40.1)


def test_pong_or_data_clears_the_wait() -> None:
    live = Liveness(ping_interval_s=30.0, pong_timeout_s=10.0, stale_timeout_s=45.0)
    live.start(0.0)
    live.pinged(30.0)
    live.alive(35.0)
    assert live.stall_reason(44.0) == ""


def test_silence_beyond_stale_timeout_is_a_stall_even_without_ping() -> None:
    live = Liveness(ping_interval_s=100.0, pong_timeout_s=10.0, stale_timeout_s=45.0)
    live.start(0.0)
    assert live.stall_reason(45.0) == ""
    assert "stale_timeout_s=45.0" in live.stall_reason(45.5)
