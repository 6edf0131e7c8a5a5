"""The connection state machine (seed S1.1, S2.1).

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
(``ReconnectBudget``).
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


class ReconnectBudget:
    """Bounds reconnection (seed S1.1-b, S2.1-d/e/i): counts attempts and computes backoff delays.

    Every RECONNECTING -> CONNECTING move calls ``begin_attempt()``; when it returns False the
    connection goes to FAILED instead. Reaching CONNECTED does not refill the budget by itself: a
    connection that drops again right after connecting keeps counting, so a flapping
    RECONNECTING -> CONNECTING -> CONNECTED -> RECONNECTING cycle ends in FAILED after
    ``max_attempts``. Only a connection that stayed up for ``healthy_after_s`` resets the count.
    Times are passed in (seconds, any monotonic clock): this class reads no clock.
    """

    __slots__ = ("max_attempts", "healthy_after_s", "initial_s", "factor", "max_delay_s", "jitter",
                 "attempts", "_connected_at")

    def __init__(
        self,
        max_attempts: int,
        *,
        healthy_after_s: float = 60.0,
        initial_s: float = 1.0,
        factor: float = 2.0,
        max_delay_s: float = 60.0,
        jitter: float = 0.0,
    ) -> None:
        if max_attempts < 0 or healthy_after_s < 0 or initial_s <= 0 or factor < 1 or max_delay_s < initial_s:
            raise ValueError("invalid reconnect budget settings")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be a fraction in [0, 1)")
        self.max_attempts = max_attempts  # 0 = retry forever
        self.healthy_after_s = healthy_after_s
        self.initial_s = initial_s
        self.factor = factor
        self.max_delay_s = max_delay_s
        self.jitter = jitter
        self.attempts = 0
        self._connected_at: float | None = None

    @property
    def exhausted(self) -> bool:
        return self.max_attempts > 0 and self.attempts >= self.max_attempts

    def begin_attempt(self) -> bool:
        """Count one reconnection attempt; False means the budget is spent (go to FAILED)."""
        if self.exhausted:
            return False
        self.attempts += 1
        return True

    def connected(self, now_s: float) -> None:
        self._connected_at = now_s

    def reset(self) -> None:
        self.attempts = 0
        self._connected_at = None

    def still_connected(self, now_s: float) -> None:
        """Call while the connection is up (e.g. on each pong): refills the budget once healthy."""
        if self._connected_at is not None and now_s - self._connected_at >= self.healthy_after_s:
            self.attempts = 0

    def disconnected(self, now_s: float) -> None:
        self.still_connected(now_s)
        self._connected_at = None

    def delay_s(self, jitter_sample: float = 0.0) -> float:
        """Backoff before the next attempt: 1 s, 2 s, 4 s ... after 0, 1, 2 ... attempts, capped.

        ``jitter_sample`` in [-1, 1] (e.g. ``random.uniform(-1, 1)``) spreads reconnect storms; the
        result never exceeds ``max_delay_s``.
        """
        base = min(self.initial_s * self.factor ** min(self.attempts, 64), self.max_delay_s)
        sample = min(max(jitter_sample, -1.0), 1.0)
        return float(min(max(base * (1 + self.jitter * sample), 0.0), self.max_delay_s))
