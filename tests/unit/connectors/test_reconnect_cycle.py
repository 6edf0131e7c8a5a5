"""Seed S1.1-b on the connector the service runs: RECONNECTING -> CONNECTED cannot loop forever."""
from __future__ import annotations

import pytest

from connectors.websocket_connector import WebSocketConnector
from domain.exceptions import ConnectionFailedException
from domain.state import ConnectionState
from tests.unit.connectors.fakes import FakeAdapter, FakeClock, SocketFactory, config, encode

pytestmark = pytest.mark.unit
S = ConnectionState


def connector(max_reconnect_attempts: int, sockets: SocketFactory) -> WebSocketConnector:
    return WebSocketConnector(config(max_reconnect_attempts=max_reconnect_attempts), FakeAdapter(),
                              encode=encode, ws_factory=sockets, clock=FakeClock())


def drop(c: WebSocketConnector, sockets: SocketFactory) -> None:
    sockets.last.inbox.append(ConnectionResetError("drop"))
    c.drain()


def _flap(c: WebSocketConnector, sockets: SocketFactory, cycles: int) -> list[ConnectionState]:
    """Connect, then drop immediately after every reconnection, recording the states visited."""
    seen: list[ConnectionState] = []
    c.connect()
    assert c.get_connection_state() is S.CONNECTED
    for _ in range(cycles):
        drop(c, sockets)
        seen.append(c.get_connection_state())
        if seen[-1] is S.FAILED:
            break
        c.connect()
        seen.append(c.get_connection_state())
    return seen


def test_S1_1_b_reconnect_cycle_is_bounded_by_the_budget() -> None:
    sockets = SocketFactory()
    c = connector(3, sockets)
    seen = _flap(c, sockets, cycles=100)
    assert c.state is S.FAILED
    assert seen.count(S.CONNECTED) == 3  # three reconnections, then the budget is spent
    assert len(seen) < 10


def test_S1_1_b_zero_attempts_means_retry_forever() -> None:
    sockets = SocketFactory()
    seen = _flap(connector(0, sockets), sockets, cycles=500)
    assert S.FAILED not in seen and seen.count(S.CONNECTED) == 500


def test_connector_raises_after_setting_failed_state() -> None:
    sockets = SocketFactory()
    c = connector(1, sockets)
    c.connect()
    drop(c, sockets)
    c.connect()
    assert c.get_connection_state() is S.CONNECTED
    drop(c, sockets)
    with pytest.raises(ConnectionFailedException) as info:
        c.connect()
    assert c.state is S.FAILED  # set before the raise (seed S2.1-b)
    assert info.value.context["exchange"] == "upbit"
