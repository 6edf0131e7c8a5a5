"""Mirrors one connection's counters into the Prometheus metrics of monitoring/metrics.py.

The frame pipeline keeps plain cumulative counts (cheap, testable); this class adds the growth
since its last call to the process's Prometheus counters, so metrics cost one pass per drain,
not one call per record.

Per-market counts: the pipeline stamps ``last_message_us[code]`` exactly once per record it admits,
so that dict is swapped (on the first sync, before any frame of a connection is read) for one that
also counts the stamps per code. The market label stays bounded: only subscribed codes are admitted.
"""
from __future__ import annotations

from connectors.backfill import REASON_INTERRUPTED
from connectors.frame_pipeline import FrameCounters
from domain.state import ConnectionState
from monitoring.metrics import (
    BACKFILL_GAPS,
    BACKFILL_REQUESTS,
    BACKFILLED_TRADES,
    CONNECTION_STATE,
    MALFORMED_FRAMES,
    MARKET_MESSAGES,
    MESSAGES_DROPPED,
    MESSAGES_RECEIVED,
    RECONNECTS,
)
from tape.backfill import REASON_BUDGET, REASON_HORIZON, REASON_REJECTED, REASON_REST_FAILED

GAP_REASONS = (REASON_HORIZON, REASON_BUDGET, REASON_REST_FAILED, REASON_REJECTED, REASON_INTERRUPTED)


class StampCountingDict(dict[str, int]):
    """code -> last record time, that also counts how often each code was stamped."""

    def __init__(self, initial: dict[str, int]) -> None:
        super().__init__(initial)
        self.stamps: dict[str, int] = {}

    def __setitem__(self, code: str, received_us: int) -> None:
        super().__setitem__(code, received_us)
        self.stamps[code] = self.stamps.get(code, 0) + 1


class ConnectorMetrics:
    def __init__(self, connection_id: str, exchange: str) -> None:
        self.connection_id = connection_id
        self.exchange = exchange
        self._received: dict[str, int] = {}
        self._dropped: dict[tuple[str, str], int] = {}
        self._malformed = 0
        self._reconnects = 0
        self._by_market: dict[str, int] = {}
        self._backfill: dict[tuple[str, str], int] = {}
        # Present at 0 from the start, so a dashboard's gap and backfill panels have data before the
        # first reconnect.
        BACKFILLED_TRADES.labels(exchange)
        for reason in GAP_REASONS:
            BACKFILL_GAPS.labels(exchange, reason)

    def sync(self, counters: FrameCounters, reconnects: int) -> None:
        self._sync_markets(counters)
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

    def sync_backfill(self, recovered: int, ok: int, failed: int, rate_limited: int,
                      gap_reasons: dict[str, int]) -> None:
        """The REST backfill's cumulative counts -> the Prometheus counters (growth only)."""
        totals = {("trades", ""): recovered, ("requests", "ok"): ok, ("requests", "failed"): failed,
                  ("requests", "rate_limited"): rate_limited,
                  **{("gaps", reason): n for reason, n in gap_reasons.items()}}
        for key, total in totals.items():
            grown = total - self._backfill.get(key, 0)
            if grown <= 0:
                continue
            self._backfill[key] = total
            kind, label = key
            if kind == "trades":
                BACKFILLED_TRADES.labels(self.exchange).inc(grown)
            elif kind == "requests":
                BACKFILL_REQUESTS.labels(self.exchange, label).inc(grown)
            else:
                BACKFILL_GAPS.labels(self.exchange, label).inc(grown)

    def _sync_markets(self, counters: FrameCounters) -> None:
        stamps = counters.last_message_us
        if not isinstance(stamps, StampCountingDict):
            # First sync for this counters object (a connection's first state change): count from now.
            counters.last_message_us = StampCountingDict(stamps)
            self._by_market = {}
            return
        for code, total in list(stamps.stamps.items()):
            grown = total - self._by_market.get(code, 0)
            if grown:
                MARKET_MESSAGES.labels(self.exchange, code).inc(grown)
                self._by_market[code] = total

    def state(self, current: ConnectionState) -> None:
        for state in ConnectionState:
            CONNECTION_STATE.labels(self.connection_id, self.exchange, state.value).set(
                1 if state is current else 0
            )
