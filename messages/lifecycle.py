"""ConnectionLifecycle: the connection state machine plus its reconnect budget, as plain data.

The connector actor drives it with events and performs whatever I/O the returned decision asks
for. The state is updated before any error is raised (seed S2.1-b), ``connect()`` is idempotent
(seed S1.4-d) and every move is checked against ``messages.state``'s transition table.
"""
from __future__ import annotations

from connectors.backoff import ReconnectBudget
from messages.exceptions import ConnectionFailedException
from messages.state import ConnectionState, check_transition

_S = ConnectionState


class ConnectionLifecycle:
    __slots__ = ("state", "budget", "exchange")

    def __init__(self, budget: ReconnectBudget, exchange: str = "") -> None:
        self.state = _S.DISCONNECTED
        self.budget = budget
        self.exchange = exchange

    def _move(self, new: ConnectionState) -> None:
        self.state = check_transition(self.state, new)

    def connect(self) -> bool:
        """True when a connection attempt should start; False when one is already under way or up."""
        if self.state in (_S.CONNECTING, _S.CONNECTED, _S.RECONNECTING):
            return False
        if self.state is _S.FAILED:
            self._move(_S.DISCONNECTED)
        self.budget.reset()  # a deliberate (re)start gets a full budget
        self._move(_S.CONNECTING)
        return True

    def connected(self, now_s: float) -> None:
        self._move(_S.CONNECTED)
        self.budget.connected(now_s)

    def lost(self, now_s: float, reason: str = "", jitter_sample: float = 0.0) -> float:
        """The attempt failed or the connection dropped: return the backoff delay before retrying.

        Raises ``ConnectionFailedException`` (after moving to FAILED) once the budget is spent.
        """
        self.budget.disconnected(now_s)
        self._move(_S.RECONNECTING)
        if self.budget.exhausted:
            self._move(_S.FAILED)
            raise ConnectionFailedException("reconnect attempts exhausted", exchange=self.exchange,
                                            attempts=self.budget.attempts, reason=reason)
        return self.budget.delay_s(jitter_sample)

    def retry(self) -> bool:
        """The backoff timer fired: move to CONNECTING, or to FAILED when the budget is spent."""
        if self.budget.begin_attempt():
            self._move(_S.CONNECTING)
            return True
        self._move(_S.FAILED)
        return False

    def disconnect(self) -> None:
        """Always safe: a no-op when already disconnected."""
        if self.state is not _S.DISCONNECTED:
            self._move(_S.DISCONNECTED)
