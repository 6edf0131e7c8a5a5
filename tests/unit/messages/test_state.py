"""Seed S1.1: the connection state machine and the bounded reconnect loop."""
from __future__ import annotations

import dataclasses
import itertools

import pytest

from connectors.backoff import ReconnectBudget
from messages.exceptions import ConnectionFailedException
from messages.lifecycle import ConnectionLifecycle
from messages.state import (
    ConnectionState,
    InvalidTransition,
    check_transition,
    is_valid_transition,
)

pytestmark = pytest.mark.unit
S = ConnectionState

ALLOWED = {
    (S.DISCONNECTED, S.CONNECTING), (S.CONNECTING, S.CONNECTED), (S.CONNECTING, S.RECONNECTING),
    (S.CONNECTING, S.DISCONNECTED), (S.CONNECTING, S.FAILED), (S.CONNECTED, S.RECONNECTING),
    (S.CONNECTED, S.DISCONNECTED), (S.RECONNECTING, S.CONNECTING), (S.RECONNECTING, S.DISCONNECTED),
    (S.RECONNECTING, S.FAILED), (S.FAILED, S.DISCONNECTED),
}


def test_S1_1_a_connection_state_is_immutable() -> None:
    assert {s.value for s in S} == {"DISCONNECTED", "CONNECTING", "CONNECTED", "RECONNECTING", "FAILED"}
    with pytest.raises(AttributeError):
        S.CONNECTED.value = "UP"  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        S.FAILED = "x"  # type: ignore[misc]


def test_S1_1_b_transitions_match_the_documented_table() -> None:
    for old, new in itertools.product(S, S):
        assert is_valid_transition(old, new) == ((old, new) in ALLOWED), (old, new)


def test_S1_1_b_illegal_transition_raises() -> None:
    assert check_transition(S.CONNECTING, S.CONNECTED) is S.CONNECTED
    with pytest.raises(InvalidTransition, match="RECONNECTING to CONNECTED"):
        check_transition(S.RECONNECTING, S.CONNECTED)
    with pytest.raises(InvalidTransition):
        check_transition(S.DISCONNECTED, S.CONNECTED)


def _flap(lifecycle: ConnectionLifecycle, cycles: int) -> list[ConnectionState]:
    """Connect, then drop immediately after every reconnection, recording the states visited."""
    seen = []
    now = 0.0
    assert lifecycle.connect()
    lifecycle.connected(now)
    for _ in range(cycles):
        now += 1.0
        try:
            lifecycle.lost(now, "drop")
        except ConnectionFailedException:
            seen.append(lifecycle.state)
            break
        seen.append(lifecycle.state)
        if not lifecycle.retry():
            seen.append(lifecycle.state)
            break
        lifecycle.connected(now)
        seen.append(lifecycle.state)
    return seen


def test_S1_1_b_reconnect_cycle_is_bounded_by_the_budget() -> None:
    lifecycle = ConnectionLifecycle(ReconnectBudget(3, healthy_after_s=60))
    seen = _flap(lifecycle, cycles=100)
    assert lifecycle.state is S.FAILED
    assert seen.count(S.CONNECTED) == 3  # three reconnections, then the budget is spent
    assert len(seen) < 10


def test_S1_1_b_zero_attempts_means_retry_forever() -> None:
    lifecycle = ConnectionLifecycle(ReconnectBudget(0))
    seen = _flap(lifecycle, cycles=500)
    assert S.FAILED not in seen and seen.count(S.CONNECTED) == 500


def test_budget_resets_only_after_a_healthy_period() -> None:
    budget = ReconnectBudget(2, healthy_after_s=30)
    assert budget.begin_attempt() and budget.begin_attempt()
    assert budget.exhausted and not budget.begin_attempt()
    budget.connected(100.0)
    budget.still_connected(129.9)
    assert budget.attempts == 2
    budget.disconnected(130.0)
    assert budget.attempts == 0 and not budget.exhausted


def test_lifecycle_raises_after_setting_failed_state() -> None:
    lifecycle = ConnectionLifecycle(ReconnectBudget(1), exchange="upbit")
    lifecycle.connect()
    lifecycle.connected(0.0)
    lifecycle.lost(1.0)
    assert lifecycle.retry()
    lifecycle.connected(2.0)
    with pytest.raises(ConnectionFailedException) as info:
        lifecycle.lost(3.0, "drop")
    assert lifecycle.state is S.FAILED  # set before the raise (seed S2.1-b)
    assert info.value.context["exchange"] == "upbit"


def test_backoff_doubles_and_is_capped() -> None:
    budget = ReconnectBudget(0, initial_s=1, factor=2, max_delay_s=60, jitter=0.2)
    delays = []
    for _ in range(10):
        delays.append(budget.delay_s())
        budget.begin_attempt()
    assert delays[:6] == [1, 2, 4, 8, 16, 32] and max(delays) == 60
    budget.attempts = 1000
    assert budget.delay_s(1.0) == 60 and budget.delay_s(-1.0) == pytest.approx(48)
    budget.attempts = 2
    assert budget.delay_s(1.0) == pytest.approx(4.8) and budget.delay_s(-1.0) == pytest.approx(3.2)


def test_lifecycle_is_plain_data_free_of_dataclass_magic() -> None:
    assert not dataclasses.is_dataclass(ConnectionLifecycle)
    with pytest.raises(ValueError):
        ReconnectBudget(-1)
