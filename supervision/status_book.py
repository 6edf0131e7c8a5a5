"""The supervisor's status snapshot (``get_status``), kept from the children's reports.

Children report cumulative counters. A restarted child starts again from zero, so each counter
keeps the total of earlier incarnations as a base: totals never go backwards.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.state import ConnectionState
from messages import (
    ActorProcess,
    BufferStats,
    ConnectorStats,
    EventsReport,
    PublishReport,
    StateChanged,
    StatusSnapshot,
    SubscriptionReport,
    TicketReport,
)
from supervision.rate_history import RateHistory
from supervision.ticket_states import ticket_rows

_CONNECTOR_COUNTERS = ("received", "malformed", "duplicates", "unsubscribed", "ignored_types", "reconnects",
                       "undeliverable", "backfilled", "rest_requests", "rest_failures", "rest_rate_limited", "gaps")
_PRODUCER_COUNTERS = ("succeeded", "failed")
_EVENT_COUNTERS = ("published", "failed", "gaps", "backfilled_trades")


class _Cumulative:
    """A cumulative counter that survives resets of its source."""

    def __init__(self) -> None:
        self.base = 0
        self.last = 0

    def update(self, value: int) -> int:
        if value < self.last:  # the reporting child restarted
            self.base += self.last
        self.last = value
        return self.base + value

    @property
    def value(self) -> int:
        return self.base + self.last


class StatusBook:
    def __init__(self, started_us: int) -> None:
        self.started_us = started_us
        self.connections: dict[str, dict[str, Any]] = {}
        self.markets: dict[str, int] = {}
        self.buffer: dict[str, Any] = {"depth": {}, "dropped": {}}
        self.producers: dict[str, dict[str, Any]] = {}
        self._counters: dict[tuple[str, str], _Cumulative] = {}
        self.processes: dict[str, dict[str, Any]] = {}  # name -> {name, role, pid}
        self.tickets: dict[str, tuple[TicketReport, ...]] = {}  # connection_id -> its last ticket report
        self.events: dict[str, Any] = {"enabled": False, "by_exchange": {}, "consecutive_failures": 0,
                                       "last_error": "", "cause": "", "in_flight": 0, "recent": []}
        self.rates = RateHistory()
        # Connections stopped for having no codes left: out of the status, their counts still in the totals.
        self.retired: dict[str, dict[str, Any]] = {}
        self.discovery: dict[str, dict[str, Any]] = {}  # exchange -> its market list's counts (markets: all)

    def _counter(self, owner: str, name: str) -> _Cumulative:
        return self._counters.setdefault((owner, name), _Cumulative())

    def expect_connection(self, connection_id: str, exchange: str, codes: Iterable[str], now_us: int) -> None:
        self.connections.setdefault(connection_id, {
            "exchange": exchange, "state": ConnectionState.DISCONNECTED.value, "codes": tuple(codes),
            **{name: 0 for name in _CONNECTOR_COUNTERS}, "last_message_us": 0, "since_us": now_us,
            "reason": "not started", "attempt": 0,
        })

    def expect_producer(self, data_type: str) -> None:
        self.producers.setdefault(data_type, {"succeeded": 0, "failed": 0, "consecutive_failures": 0,
                                              "last_error": "", "cause": "", "failing_for_s": 0.0})

    def expect_events(self, exchanges: Iterable[str]) -> None:
        """The events producer runs: its counts show as zero per exchange until it reports."""
        self.events["enabled"] = True
        for exchange in exchanges:
            self.events["by_exchange"].setdefault(exchange, {name: 0 for name in _EVENT_COUNTERS})

    def on_events_report(self, msg: EventsReport) -> None:
        by_exchange = self.events["by_exchange"]
        for name in _EVENT_COUNTERS:
            for exchange, value in getattr(msg, name).items():
                row = by_exchange.setdefault(exchange, {n: 0 for n in _EVENT_COUNTERS})
                row[name] = self._counter(f"events:{exchange}", name).update(int(value))
        self.events.update(consecutive_failures=msg.consecutive_failures, cause=msg.cause, in_flight=msg.in_flight)
        if msg.last_error:
            self.events["last_error"] = msg.last_error
        if msg.recent or not self.events["recent"]:
            self.events["recent"] = [dict(row) for row in msg.recent]

    def sample_rates(self, now_us: int) -> None:
        """Each exchange's received total now, for the messages-per-second history."""
        totals: dict[str, int] = {}
        for conn in self.connections.values():
            totals[str(conn["exchange"])] = totals.get(str(conn["exchange"]), 0) + int(conn["received"])
        self.rates.sample(now_us, totals)

    def child_exited(self, connection_id: str, now_us: int) -> None:
        conn = self.connections.get(connection_id)
        if conn is not None:
            conn.update(state=ConnectionState.DISCONNECTED.value, since_us=now_us,
                        reason="connector process exited; restarting")

    def on_discovery(self, exchange: str, status: dict[str, Any]) -> None:
        self.discovery[exchange] = dict(status)

    def set_codes(self, connection_id: str, codes: Iterable[str]) -> None:
        conn = self.connections.get(connection_id)
        if conn is not None:
            conn["codes"] = tuple(codes)

    def keep_markets(self, exchange: str, codes: Iterable[str]) -> None:
        """The exchange follows exactly ``codes`` now: a delisted market's last-message time goes."""
        kept = {f"{exchange}:{code}" for code in codes}
        for key in [k for k in self.markets if k.startswith(f"{exchange}:") and k not in kept]:
            del self.markets[key]

    def retire(self, connection_id: str) -> None:
        conn = self.connections.pop(connection_id, None)
        self.tickets.pop(connection_id, None)
        if conn is not None:
            conn.update(state=ConnectionState.DISCONNECTED.value, reason="no codes left", codes=())
            self.retired[connection_id] = conn

    def on_state(self, msg: StateChanged) -> None:
        if msg.connection_id in self.retired:
            return
        conn = self.connections.get(msg.connection_id)
        if conn is None:
            self.expect_connection(msg.connection_id, msg.exchange, (), msg.at_us)
            conn = self.connections[msg.connection_id]
        conn.update(state=ConnectionState(msg.new).value, since_us=msg.at_us, reason=msg.reason,
                    attempt=msg.attempt)

    def on_connector_stats(self, msg: ConnectorStats) -> int:
        """Apply the stats; return how many messages are new since this connection's last report."""
        conn = self.retired.get(msg.connection_id)  # its final counts may come after it was stopped
        if conn is None:
            self.expect_connection(msg.connection_id, msg.exchange, msg.codes, 0)
            conn = self.connections[msg.connection_id]
        before = self._counter(msg.connection_id, "received").value
        for name in _CONNECTOR_COUNTERS:
            conn[name] = self._counter(msg.connection_id, name).update(int(getattr(msg, name)))
        if msg.codes and msg.connection_id not in self.retired:
            conn["codes"] = tuple(msg.codes)
        for code, at_us in msg.last_message_us.items():
            key = f"{msg.exchange}:{code}"
            if at_us > self.markets.get(key, 0):
                self.markets[key] = at_us
        if msg.last_message_us:
            conn["last_message_us"] = max(conn["last_message_us"], max(msg.last_message_us.values()))
        return int(conn["received"]) - before

    def on_subscriptions(self, msg: SubscriptionReport) -> None:
        self.tickets[msg.connection_id] = tuple(msg.entries)

    def _connection(self, connection_id: str, info: dict[str, Any]) -> dict[str, Any]:
        return {**info, "tickets": ticket_rows(self.tickets.get(connection_id, ()), str(info["state"]))}

    def on_process(self, msg: ActorProcess) -> None:
        self.processes[msg.name] = {"name": msg.name, "role": msg.role, "pid": msg.pid}

    def on_buffer_stats(self, msg: BufferStats) -> None:
        self.buffer = {"depth": dict(msg.depth), "dropped": dict(msg.dropped)}

    def on_publish_report(self, msg: PublishReport) -> None:
        self.expect_producer(msg.data_type)
        prod = self.producers[msg.data_type]
        for name in _PRODUCER_COUNTERS:
            prod[name] = self._counter("producer:" + msg.data_type, name).update(int(getattr(msg, name)))
        prod["consecutive_failures"] = msg.consecutive_failures
        prod["cause"] = msg.cause
        prod["failing_for_s"] = msg.failing_for_s
        if msg.last_error:
            prod["last_error"] = msg.last_error

    def _all_connections(self) -> list[dict[str, Any]]:
        return [*self.connections.values(), *self.retired.values()]

    def total_received(self) -> int:
        return sum(int(c["received"]) for c in self._all_connections())

    def total_published(self) -> int:
        return sum(int(p["succeeded"]) for p in self.producers.values())

    def accounted(self) -> bool:
        """Every record the connectors forwarded is published, dropped by the buffer or a failed publish."""
        forwarded = sum(int(c["received"]) - int(c["duplicates"]) - int(c["unsubscribed"])
                        for c in self._all_connections())
        settled = self.total_published() + sum(int(p["failed"]) for p in self.producers.values()) + \
            sum(int(n) for n in self.buffer["dropped"].values()) + \
            sum(int(c["undeliverable"]) for c in self._all_connections())
        return settled >= forwarded

    def snapshot(self, now_us: int, running: bool) -> StatusSnapshot:
        return StatusSnapshot(
            started_us=self.started_us, now_us=now_us, running=running,
            connections={k: self._connection(k, v) for k, v in self.connections.items()},
            markets=dict(self.markets),
            buffer={"depth": dict(self.buffer["depth"]), "dropped": dict(self.buffer["dropped"])},
            producers={k: dict(v) for k, v in self.producers.items()},
            total_received=self.total_received(), total_published=self.total_published(),
            processes=tuple(dict(p) for p in self.processes.values()),
            events={**self.events, "by_exchange": {k: dict(v) for k, v in self.events["by_exchange"].items()},
                    "recent": [dict(r) for r in self.events["recent"]]},
            rate_history={"bucket_s": self.rates.bucket_us / 1e6, "points": self.rates.points(now_us)},
            discovery={k: dict(v) for k, v in self.discovery.items()},
        )
