"""The connection state machine.

Allowed transitions (anything else raises ``InvalidTransition``):

    DISCONNECTED -> CONNECTING                 connect() called
    CONNECTING   -> CONNECTED                  handshake and subscription done
    CONNECTING   -> RECONNECTING               the attempt failed, a retry is scheduled
    CONNECTING   -> DISCONNECTED               disconnect() while connecting
    CONNECTING   -> FAILED                     the attempt failed and the budget is spent
    CONNECTED    -> RECONNECTING               drop, close frame, stall or error frame
    CONNECTED    -> DISCONNECTED               disconnect()
    RECONNECTING -> CONNECTING                 the backoff timer fired
    RECONNECTING -> DISCONNECTED               disconnect() while waiting
    RECONNECTING -> FAILED                     the attempt budget is spent
    FAILED       -> DISCONNECTED               an operator reset (the actor is restarted)

RECONNECTING -> CONNECTED is not allowed directly: every reconnection passes through CONNECTING,
where the attempt counter is checked, so a flapping connection cannot cycle forever
(``connectors.backoff.ReconnectBudget``).
"""
from __future__ import annotations

from enum import Enum


class ConnectionState(str, Enum):  # noqa: UP042 - contract kept as is; StrEnum would change str()
    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    FAILED = "FAILED"


_ALLOWED: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.DISCONNECTED: frozenset({ConnectionState.CONNECTING}),
    ConnectionState.CONNECTING: frozenset(
        {
            ConnectionState.CONNECTED,
            ConnectionState.RECONNECTING,
            ConnectionState.DISCONNECTED,
            ConnectionState.FAILED,
        }
    ),
    ConnectionState.CONNECTED: frozenset({ConnectionState.RECONNECTING, ConnectionState.DISCONNECTED}),
    ConnectionState.RECONNECTING: frozenset(
        {ConnectionState.CONNECTING, ConnectionState.DISCONNECTED, ConnectionState.FAILED}
    ),
    ConnectionState.FAILED: frozenset({ConnectionState.DISCONNECTED}),
}


class InvalidTransition(ValueError):
    def __init__(self, old: ConnectionState, new: ConnectionState) -> None:
        super().__init__(f"connection state cannot go from {old.value} to {new.value}")
        self.old = old
        self.new = new


def is_valid_transition(old: ConnectionState, new: ConnectionState) -> bool:
    return new in _ALLOWED[old]


def check_transition(old: ConnectionState, new: ConnectionState) -> ConnectionState:
    """Return ``new`` if the move is allowed, else raise ``InvalidTransition``."""
    if not is_valid_transition(old, new):
        raise InvalidTransition(old, new)
    return new
