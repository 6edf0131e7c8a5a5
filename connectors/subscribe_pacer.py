"""When the next subscription request may go out on one open connection.

Every request counts against the exchange's per-connection limits (Upbit: 5 a second and 100 a
minute), the one sent when the connection opened included. A request that must wait is not
queued: a later code list replaces a waiting one, since each request carries the complete
subscription. Pure; the caller passes the clock.
"""
from __future__ import annotations

from collections import deque


class SubscribePacer:
    def __init__(self, per_s: int, per_min: int) -> None:
        if per_s < 1 or per_min < 1:
            raise ValueError("per_s and per_min must be at least 1")
        self.per_s, self.per_min = per_s, per_min
        self._sent: deque[float] = deque()  # send times of the last minute, oldest first

    def sent(self, now_s: float) -> None:
        self._sent.append(now_s)
        self._forget(now_s)

    def reset(self) -> None:
        """A new connection: its limits start afresh."""
        self._sent.clear()

    def wait_s(self, now_s: float) -> float:
        """0 when a request may go now, else the seconds until one may."""
        self._forget(now_s)
        waits = [0.0]
        if len(self._sent) >= self.per_min:
            waits.append(self._sent[-self.per_min] + 60.0 - now_s)
        recent = [t for t in self._sent if t > now_s - 1.0]
        if len(recent) >= self.per_s:
            waits.append(recent[-self.per_s] + 1.0 - now_s)
        return max(waits)

    def _forget(self, now_s: float) -> None:
        while self._sent and self._sent[0] <= now_s - 60.0:
            self._sent.popleft()
