"""Seed S1.1: the connection state machine; its bounded reconnect loop is tested on the real connector."""
from __future__ import annotations

import itertools

import pytest

from domain.state import (
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
