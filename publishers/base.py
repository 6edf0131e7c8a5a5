"""The publisher port: what the producer actor needs from a message bus client."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from domain.market_data import MarketDataMessage
from publishers.publish_tracker import TrackerSnapshot


class MessagePublisher(ABC):
    """Hands records to a bus asynchronously; outcomes arrive later and show in ``snapshot()``."""

    @abstractmethod
    def publish(self, records: Sequence[MarketDataMessage]) -> int:
        """Hand ``records`` to the client without waiting for delivery; returns how many were
        accepted (the rest failed at once and are already counted as failures)."""

    @abstractmethod
    def flush(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for outstanding records; returns how many are still pending."""

    @abstractmethod
    def give_up(self) -> int:
        """Stop waiting for what the client still holds: each such record counts as failed now
        (it may still land: a failure here is ambiguous, never a silent loss). Returns how many."""

    @abstractmethod
    def close(self, timeout_s: float) -> None:
        """Release the client. Never raises, even when the bus is unreachable."""

    @abstractmethod
    def snapshot(self) -> TrackerSnapshot:
        """Cumulative delivery counts and the outage state (failed attempts, cause, fatal)."""

    def poll(self) -> None:  # noqa: B027 - a no-op by default on purpose
        """Let the client deliver the outcomes it has, and write the metrics gathered since the last
        poll; never blocks. The owner calls it a few times a second whatever the load (librdkafka
        serves its callbacks only here; kafka-python reports on its own thread)."""
