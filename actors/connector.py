"""The connector actor: one exchange WebSocket connection carrying a group of market codes.

It never blocks on the socket: Thespian watches the socket's descriptor (``ThespianWatch`` is
returned from every handler, since the transport replaces the watch list after each message),
``drain()`` reads until the socket would block, and timers (``wakeupAfter``) drive pings, stall
checks, batch flushes, stats and reconnects. Records go to the buffer in batches, never one
message per frame: Thespian costs about 1 ms per message (thespian notes §2-3).

Before each (re)connection it asks the supervisor for a ``ConnectPermit``, which paces connects
under the exchanges' per-IP limits. Every state change is reported as ``StateChanged``.
Connecting is ``connector_connecting``'s part, reading and batching ``connector_reading``'s.
"""
from __future__ import annotations

import logging
from typing import Any

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ThespianWatch, WakeupMessage, WatchMessage

from actors.connector_base import connector_log
from actors.connector_connecting import PERMIT_TIMEOUT, ConnectPacing
from actors.connector_reading import (
    BATCH_INTERVAL_S,
    MAX_BATCH,
    MAX_FRAMES_PER_DRAIN,
    STATS_EVERY_S,
    STOP_DRAIN_FRAMES,
    DrainSocket,
    RecordForwarding,
)
from actors.process_guard import die_with_parent
from connectors.batch_window import BatchWindow
from connectors.websocket_connector import WebSocketConnector
from exchanges.registry import get_adapter
from messages.protocol import (
    ConnectPermit,
    StartConnector,
    StateChanged,
    StopConnector,
    SubscriptionQuery,
    SubscriptionReport,
)
from messages.state import ConnectionState as S
from pipeline.utc_clock import utc_now_us


class ConnectorActor(ConnectPacing, RecordForwarding, ActorTypeDispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        die_with_parent()
        self.start = None
        self.connector = None
        self.window = BatchWindow(MAX_BATCH, BATCH_INTERVAL_S)
        self.stopped = False
        self.awaiting_permit = 0
        self.permit_requests = 0
        self.retry_armed = False
        self.flush_armed = False
        self.last_stats = None
        self.last_stats_at = 0.0

    # --- the watch, on every path ------------------------------------------------------------
    def _watch(self) -> ThespianWatch | None:
        # Never return the descriptor of a closed socket: Thespian may reuse the number.
        fd = self.connector.fileno() if self.connector is not None and not self.stopped else None
        return ThespianWatch([fd]) if fd is not None else None

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> ThespianWatch | None:
        return self._watch()

    # --- start -------------------------------------------------------------------------------
    def receiveMsg_StartConnector(self, msg: StartConnector, sender: Any) -> ThespianWatch | None:
        if self.start is not None:
            connector_log().warning("%s: second StartConnector ignored", self.start.connection_id)
            return self._watch()
        self.start = msg
        cfg = msg.exchange_config
        self.connector = WebSocketConnector(
            cfg, get_adapter(cfg.name), connection_id=msg.connection_id, on_state=self._report_state
        )
        tick = min(1.0, max(0.05, min(cfg.ping_interval_s, cfg.pong_timeout_s, cfg.stale_timeout_s) / 4))
        self.tick_s = tick
        self.wakeupAfter(tick, "tick")
        self.wakeupAfter(STATS_EVERY_S, "stats")
        connector_log().info("%s: %s %d codes via %s", msg.connection_id, cfg.name, len(cfg.markets), cfg.ws_url)
        self._request_connect()
        return self._watch()

    def _report_state(self, old: S, new: S, reason: str, attempt: int) -> None:
        assert self.start is not None
        start = self.start
        if start.supervisor is not None:
            self.send(start.supervisor, StateChanged(
                start.connection_id, start.exchange_config.name, old, new, reason, utc_now_us(), attempt))
        level = logging.WARNING if new in (S.RECONNECTING, S.FAILED) else logging.INFO
        connector_log().log(level, "%s: %s -> %s (%s)", start.connection_id, old.value, new.value, reason)

    # --- connecting and reading --------------------------------------------------------------
    def receiveMsg_ConnectPermit(self, msg: ConnectPermit, sender: Any) -> ThespianWatch | None:
        self._permit_granted()
        return self._watch()

    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> ThespianWatch | None:
        self._drain(MAX_FRAMES_PER_DRAIN)
        return self._watch()

    def receiveMsg_DrainSocket(self, msg: DrainSocket, sender: Any) -> ThespianWatch | None:
        self._drain(MAX_FRAMES_PER_DRAIN)
        return self._watch()

    # --- timers ------------------------------------------------------------------------------
    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> ThespianWatch | None:
        payload = msg.payload
        if self.connector is None or self.stopped:
            return self._watch()
        if payload == "tick":
            self.connector.tick()
            self._arm_retry()
            self.wakeupAfter(self.tick_s, "tick")
        elif payload == "flush":
            self.flush_armed = False
            self._flush(force=False)
        elif payload == "stats":
            self._send_stats(force=False)
            self.wakeupAfter(STATS_EVERY_S, "stats")
        elif payload == "retry":
            self.retry_armed = False
            if self.connector.state is S.RECONNECTING:
                self._request_connect()
        elif isinstance(payload, tuple) and payload == (PERMIT_TIMEOUT, self.awaiting_permit):
            self._permit_timed_out()
        return self._watch()

    # --- queries and stop --------------------------------------------------------------------
    def receiveMsg_SubscriptionQuery(self, msg: SubscriptionQuery, sender: Any) -> ThespianWatch | None:
        tickets = self.connector.subscription_report() if self.connector is not None else {}
        connection_id = self.start.connection_id if self.start is not None else ""
        self.send(sender, SubscriptionReport(connection_id, tickets))
        return self._watch()

    def receiveMsg_StopConnector(self, msg: StopConnector, sender: Any) -> None:
        self._stop("stop requested")

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        self._stop("actor exit")

    def _stop(self, reason: str) -> None:
        """Hand on what was read, close the socket, report DISCONNECTED and final counts."""
        if self.stopped or self.connector is None:
            return
        self._drain(STOP_DRAIN_FRAMES)
        self._flush(force=True)
        self.stopped = True
        self.connector.disconnect(reason)
        self._send_stats(force=True)
