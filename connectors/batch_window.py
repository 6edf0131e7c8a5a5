"""When to hand records on: the rule that keeps actor messages few.

Thespian costs about 1 ms per message and pair, so one message per frame collapses above ~1k
frames/s. Records are therefore collected and sent as one batch when either the batch is full,
or at least ``min_interval_s`` passed since the last send. Otherwise they wait for a short
flush timer. This caps messages per connector at ``1 / min_interval_s`` per second while adding
at most ``min_interval_s`` of latency. Pure: the caller passes the time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from domain.market_data import MarketDataMessage


@dataclass(slots=True)
class BatchWindow:
    max_records: int = 500
    min_interval_s: float = 0.01
    pending: list[MarketDataMessage] = field(default_factory=list)
    last_sent_at: float = float("-inf")

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
