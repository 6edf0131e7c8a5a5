"""Keep-alive and stall detection for one connection.

Upbit closes idle sockets after about 60 s and sends no pings of its own, so the client pings
every ``ping_interval_s``. A connection counts as stalled when nothing at all (data, status
frame or pong) arrived for ``stale_timeout_s``, or when a ping got no answer (and no data came)
within ``pong_timeout_s``. Quiet markets may be silent for minutes, so the connection is
watched, not each code. Pure: the caller passes monotonic times.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Liveness:
    ping_interval_s: float
    pong_timeout_s: float
    stale_timeout_s: float
    last_alive: float = 0.0
    last_ping: float = 0.0
    awaiting_pong: bool = False
    pings_sent: int = 0

    def start(self, now: float) -> None:
        """A connection was just established; the first ping is due one interval later."""
        self.last_alive = now
        self.last_ping = now
        self.awaiting_pong = False

    def alive(self, now: float) -> None:
        """Anything arrived from the server (data, status, pong, ping)."""
        self.last_alive = now
        self.awaiting_pong = False

    def ping_due(self, now: float) -> bool:
        return now - self.last_ping >= self.ping_interval_s

    def pinged(self, now: float) -> None:
        self.last_ping = now
        self.awaiting_pong = True
        self.pings_sent += 1

    def stall_reason(self, now: float) -> str:
        """Why the connection counts as dead, or "" while it is healthy."""
        silent = now - self.last_alive
        if silent > self.stale_timeout_s:
            return f"stalled: nothing received for {silent:.1f} s (stale_timeout_s={self.stale_timeout_s})"
        if self.awaiting_pong and now - self.last_ping > self.pong_timeout_s:
            return f"stalled: no pong and no data within pong_timeout_s={self.pong_timeout_s} after a ping"
        return ""

    def next_check_in(self, now: float) -> float:
        """Seconds until the next ping or stall deadline (never negative)."""
        deadlines = [self.last_ping + self.ping_interval_s, self.last_alive + self.stale_timeout_s]
        if self.awaiting_pong:
            deadlines.append(self.last_ping + self.pong_timeout_s)
        return max(0.0, min(deadlines) - now)
