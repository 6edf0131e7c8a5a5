"""When to read the socket and when to hand records on: the rule that keeps wake-ups and writes few.

Every wake-up of an actor process costs about a quarter of a millisecond of CPU whatever it
carries, and every write to the buffer wakes two more processes. Records are therefore collected
and sent as one batch when either the batch is full, or at least ``min_interval_s`` passed since
the last send; otherwise they wait for a short flush timer. This caps writes per connector at
``1 / min_interval_s`` per second while adding at most ``min_interval_s`` of latency.

Reading follows the same window while data flows (``after_read``): a read that found frames puts
the connection in polling mode, where the socket is left unwatched and read by a timer once per
window, frames meanwhile waiting in the kernel's buffer; the first read that finds nothing watches
the socket again. An exchange sends each message as its own frame, so without this a connection
carrying 1,000 messages a second would wake its process up to 1,000 times a second; polling, it
wakes ``1 / min_interval_s`` times, and a frame still waits at most one window before it is
written, as before. An idle connection costs nothing: its socket is watched. Pure: the caller
passes the time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from domain.market_data import MarketDataMessage
from domain.settings import DATA_PATH_LINGER_MS

MIN_POLL_S = 0.001


@dataclass(slots=True)
class BatchWindow:
    max_records: int = 500
    min_interval_s: float = DATA_PATH_LINGER_MS / 1000
    pending: list[MarketDataMessage] = field(default_factory=list)
    last_sent_at: float = float("-inf")
    polling: bool = False  # frames are flowing: the socket is read by timer, unwatched meanwhile

    def add(self, records: tuple[MarketDataMessage, ...] | list[MarketDataMessage]) -> None:
        self.pending.extend(records)

    def due(self, now: float) -> bool:
        """True if the pending records should be sent now."""
        if not self.pending:
            return False
        return len(self.pending) >= self.max_records or now - self.last_sent_at >= self.min_interval_s

    def wait_s(self, now: float) -> float:
        """How long until pending records become due by time (0 if due already)."""
        return max(0.0, self.min_interval_s - (now - self.last_sent_at))

    def take(self, now: float) -> tuple[MarketDataMessage, ...]:
        """Remove and return up to ``max_records`` records; the rest stay pending."""
        batch = tuple(self.pending[: self.max_records])
        del self.pending[: self.max_records]
        if batch:
            self.last_sent_at = now
        return batch

    def after_read(self, frames: int, now: float) -> float | None:
        """After a complete read of the socket (it would block): None when the read found nothing
        (watch the socket again), else the seconds until the next read by timer, which is when the
        pending records fall due, or one window when none are pending."""
        self.polling = frames > 0
        if not self.polling:
            return None
        return max(MIN_POLL_S, self.wait_s(now) if self.pending else self.min_interval_s)
