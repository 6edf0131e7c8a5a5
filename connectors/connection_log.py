"""The connection state with its listener: transitions are checked, then reported in order.

Transitions are recorded while the connector holds its lock and delivered by ``flush()`` after
it let go. Delivery is never re-entrant: a listener that calls back into the connector (say,
``disconnect()`` on FAILED) only queues more events, which the running ``flush()`` delivers
next. So disconnection handling cannot recurse (seed S2.2-h).
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from messages.state import ConnectionState, check_transition

StateListener = Callable[[ConnectionState, ConnectionState, str, int], None]
Transition = tuple[ConnectionState, ConnectionState, str, int]


class StateLog:
    def __init__(self, listener: StateListener | None, initial: ConnectionState = ConnectionState.DISCONNECTED):
        self.state = initial
        self.listener = listener
        self.history: deque[Transition] = deque(maxlen=256)
        self._pending: deque[Transition] = deque()
        self._guard = threading.Lock()
        self._delivering = False

    def move(self, new: ConnectionState, reason: str, attempt: int = 0) -> None:
        """Change state now (raises ``InvalidTransition`` for a move the state machine forbids)."""
        old = self.state
        check_transition(old, new)
        self.state = new
        event = (old, new, reason, attempt)
        self.history.append(event)
        self._pending.append(event)

    def flush(self) -> None:
        """Deliver queued transitions to the listener, oldest first."""
        while self._pending:
            with self._guard:
                if self._delivering:
                    return
                self._delivering = True
            try:
                while self._pending:
                    event = self._pending.popleft()
                    if self.listener is not None:
                        self.listener(*event)
            finally:
                with self._guard:
                    self._delivering = False
