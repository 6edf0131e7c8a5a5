"""Mirrors one connection's counters into the Prometheus metrics of monitoring/metrics.py.

The frame pipeline keeps plain cumulative counts (cheap, testable); this class adds the growth
since its last call to the process's Prometheus counters, so metrics cost one pass per drain,
not one call per record.
"""
from __future__ import annotations

from connectors.frame_pipeline import FrameCounters
from messages.state import ConnectionState
from monitoring.metrics import (
    CONNECTION_STATE,
    MALFORMED_FRAMES,
    MESSAGES_DROPPED,
    MESSAGES_RECEIVED,
    RECONNECTS,
)


class ConnectorMetrics:
    def __init__(self, connection_id: str, exchange: str) -> None:
        self.connection_id = connection_id
        self.exchange = exchange
        self._received: dict[str, int] = {}
        self._dropped: dict[tuple[str, str], int] = {}
        self._malformed = 0
        self._reconnects = 0

    def sync(self, counters: FrameCounters, reconnects: int) -> None:
        for data_type, total in counters.received_by_type.items():
            grown = total - self._received.get(data_type, 0)
            if grown:
                MESSAGES_RECEIVED.labels(self.exchange, data_type).inc(grown)
                self._received[data_type] = total
        for (data_type, reason), total in counters.dropped.items():
            grown = total - self._dropped.get((data_type, reason), 0)
            if grown:
                MESSAGES_DROPPED.labels(self.exchange, data_type, reason).inc(grown)
                self._dropped[(data_type, reason)] = total
        if counters.malformed > self._malformed:
            MALFORMED_FRAMES.labels(self.exchange).inc(counters.malformed - self._malformed)
            self._malformed = counters.malformed
        if reconnects > self._reconnects:
            RECONNECTS.labels(self.exchange).inc(reconnects - self._reconnects)
            self._reconnects = reconnects

    def state(self, current: ConnectionState) -> None:
        for state in ConnectionState:
            CONNECTION_STATE.labels(self.connection_id, self.exchange, state.value).set(
                1 if state is current else 0
            )
