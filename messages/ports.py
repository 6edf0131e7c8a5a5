"""The interfaces around the pure core (seed S1.4-a/c, S1.5).

In the actor design the connector and producer actors own the I/O; these protocols name what they
offer so alternative implementations (and unit-test fakes) can be checked against one shape.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from messages.market_data import MarketDataMessage
from messages.records import EncodedRecord
from messages.state import ConnectionState


@runtime_checkable
class MarketDataConnector(Protocol):
    def connect(self) -> None:
        """Open the connection and subscribe. Idempotent: calling it while connecting or connected does nothing."""

    def disconnect(self) -> None:
        """Close the connection and release its resources. Safe in any state."""

    def stream(self) -> Iterator[MarketDataMessage]:
        """Yield frames as they arrive (a generator: nothing accumulates between reads)."""

    def get_connection_state(self) -> ConnectionState: ...


@runtime_checkable
class MessagePublisher(Protocol):
    def publish(self, topic: str, record: EncodedRecord) -> None:
        """Hand one record to Kafka (keyed by its market code); raises ``PublishException``."""

    def flush(self, timeout_s: float) -> int:
        """Wait for pending sends; returns how many are still pending."""

    def close(self) -> None: ...
