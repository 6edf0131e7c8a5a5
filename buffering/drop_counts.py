"""Counts of records the buffer dropped, by reason: nothing leaves krwfeed uncounted."""
from __future__ import annotations

from domain.market_data import MarketDataMessage


class DropCounts:
    def __init__(self) -> None:
        self.by_reason: dict[tuple[str, str], int] = {}  # (reason, data_type) -> count
        self.by_exchange: dict[tuple[str, str, str], int] = {}  # (exchange, data_type, reason) -> count

    def count(self, reason: str, record: MarketDataMessage) -> None:
        key = (reason, record.data_type)
        self.by_reason[key] = self.by_reason.get(key, 0) + 1
        xkey = (record.exchange, record.data_type, reason)
        self.by_exchange[xkey] = self.by_exchange.get(xkey, 0) + 1

    def add(self, other: DropCounts) -> None:
        """Add another queue's counts (the buffer keeps its counts when it is reconfigured)."""
        for key, n in other.by_reason.items():
            self.by_reason[key] = self.by_reason.get(key, 0) + n
        for xkey, n in other.by_exchange.items():
            self.by_exchange[xkey] = self.by_exchange.get(xkey, 0) + n

    def total(self) -> int:
        return sum(self.by_reason.values())
