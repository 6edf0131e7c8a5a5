"""The events topic's rules: how one connection or gap event becomes a Kafka record, and the
counts of what became of each event.

An event travels through the same publisher clients as market data (the same client choice,
options, delivery accounting and failure logging), wrapped as a ``MarketDataMessage`` of data
type ``event``: keyed by its connection id, so one connection's events stay in order on one
partition, its bytes the ``krwfeed.v1.ConnectionEvent``. ``DeliveryBook`` routes that data type to
the exchange's events topic (``KafkaSettings.events_topic``) with ``proto.serializer.event_headers``.

``EventTally`` counts, per exchange, every event published and every one that failed (refused by
the serialiser, failed in delivery, or given up at a stop), the GAP events and the trades that
BACKFILLED and GAP events recovered, and keeps the most recent events for the status. It is the
``DeliveryBook``'s observer of the events publisher, so its counts come from the client's own
outcomes. Thread-safe: kafka-python reports outcomes on its sender thread.
"""
from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.market_data import MarketDataMessage
from domain.records import ConnectionEventKind, ConnectionEventRecord
from monitoring.metrics import BACKFILLED_TRADES, EVENTS_FAILED, EVENTS_PUBLISHED
from proto.serializer import EVENT_DATA_TYPE, serialize_event

RECENT_EVENTS = 200  # kept for the status (the dashboard marks them on its chart)
_RECOVERING = (ConnectionEventKind.BACKFILLED, ConnectionEventKind.GAP)


def _value(item: Any) -> str:
    return str(getattr(item, "value", item))


def event_message(event: ConnectionEventRecord) -> MarketDataMessage:
    """The event as its publisher sends it: key = connection id, value = ConnectionEvent bytes.
    Raises ``SerializationException`` for an event that cannot be serialised."""
    return MarketDataMessage(_value(event.exchange), EVENT_DATA_TYPE, event.connection_id, serialize_event(event),
                             event.event_time_us)


def event_row(event: ConnectionEventRecord) -> dict[str, Any]:
    """The event as the status shows it: plain JSON-friendly values, times in UTC microseconds."""
    return {"kind": _value(event.kind), "exchange": _value(event.exchange), "connection_id": event.connection_id,
            "at_us": event.event_time_us, "from_us": event.from_time_us, "to_us": event.to_time_us,
            "trades_recovered": event.trades_recovered, "gap_closed": event.gap_closed, "reason": event.reason}


@dataclass(frozen=True, slots=True)
class EventCounts:
    """Cumulative counts per exchange, and the most recent events, oldest first."""

    published: dict[str, int]
    failed: dict[str, int]
    in_flight: dict[str, int]
    gaps: dict[str, int]
    backfilled_trades: dict[str, int]
    recent: tuple[dict[str, Any], ...]


class EventTally:
    def __init__(self, recent_limit: int = RECENT_EVENTS) -> None:
        self._lock = threading.Lock()
        self._published: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._gaps: Counter[str] = Counter()
        self._backfilled: Counter[str] = Counter()
        self._recent: deque[dict[str, Any]] = deque(maxlen=recent_limit)
        self.version = 0  # bumps on every change

    def expect(self, exchanges: Sequence[str]) -> None:
        """Every exchange's counters exist from the start (at 0), so queries and rates work before
        its first event, gap or failure."""
        for exchange in exchanges:
            for metric in (EVENTS_PUBLISHED, EVENTS_FAILED, BACKFILLED_TRADES):
                metric.labels(exchange)

    # --- what arrives ------------------------------------------------------------------------
    def received(self, event: ConnectionEventRecord) -> None:
        """An event to publish: GAP events and recovered trades count whatever becomes of it."""
        exchange = _value(event.exchange)
        with self._lock:
            if event.kind is ConnectionEventKind.GAP:
                self._gaps[exchange] += 1
            if event.kind in _RECOVERING and event.trades_recovered > 0:
                self._backfilled[exchange] += event.trades_recovered
            self._recent.append(event_row(event))
            self.version += 1

    def refused(self, event: ConnectionEventRecord) -> None:
        """The event could not be serialised: it failed without reaching the client."""
        self._fail(_value(event.exchange), 1)

    # --- the publisher's outcomes (DeliveryBook's observer) ----------------------------------
    def handed(self, records: Sequence[MarketDataMessage]) -> None:
        with self._lock:
            for record in records:
                self._in_flight[record.exchange] += 1
            self.version += 1

    def succeeded(self, record: MarketDataMessage) -> None:
        with self._lock:
            if self._in_flight[record.exchange] <= 0:  # already given up and counted as failed
                return
            self._in_flight[record.exchange] -= 1
            self._published[record.exchange] += 1
            self.version += 1
        EVENTS_PUBLISHED.labels(record.exchange).inc()

    def failed(self, record: MarketDataMessage) -> None:
        with self._lock:
            if self._in_flight[record.exchange] <= 0:
                return
            self._in_flight[record.exchange] -= 1
        self._fail(record.exchange, 1)

    def abandon(self) -> int:
        """Every event still in flight counts as failed now (the stop's time is up, the client is
        closed); their outcomes, should they still come, change nothing. Returns how many."""
        with self._lock:
            left = dict(self._in_flight)
            self._in_flight.clear()
        for exchange, count in left.items():
            if count > 0:
                self._fail(exchange, count)
        return sum(n for n in left.values() if n > 0)

    def _fail(self, exchange: str, count: int) -> None:
        with self._lock:
            self._failed[exchange] += count
            self.version += 1
        EVENTS_FAILED.labels(exchange).inc(count)

    def snapshot(self) -> EventCounts:
        with self._lock:
            return EventCounts(dict(self._published), dict(self._failed), {k: v for k, v in self._in_flight.items() if v},
                               dict(self._gaps), dict(self._backfilled), tuple(self._recent))
