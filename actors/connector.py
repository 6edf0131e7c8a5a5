"""The connector actor: one exchange WebSocket connection carrying a group of market codes.

It never blocks on the socket: Thespian watches the socket's descriptor (``ThespianWatch`` is
returned from every handler, since the transport replaces the watch list after each message),
``drain()`` reads until the socket would block, and timers (``wakeupAfter``) drive pings, stall
checks, batch flushes, stats and reconnects. Records go to the buffer in batches, never one
message per frame: Thespian costs about 1 ms per message (thespian notes §2-3).

Before each (re)connection it asks the supervisor for a ``ConnectPermit``, which paces connects
under the exchanges' per-IP limits. Every state change is reported as ``StateChanged``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ThespianWatch, WakeupMessage, WatchMessage

from actors.process_guard import die_with_parent
from connectors.batch_window import BatchWindow
from connectors.websocket_connector import WebSocketConnector
from exchanges.registry import get_adapter
from messages.exceptions import ConnectionException, ConnectionFailedException
from messages.protocol import (
    ConnectorStats,
    ConnectPermit,
    ConnectRequest,
    RecordBatch,
    StartConnector,
    StateChanged,
    StopConnector,
    SubscriptionQuery,
    SubscriptionReport,
)
from messages.state import ConnectionState as S

MAX_FRAMES_PER_DRAIN = 500  # then yield to other messages and continue with a DrainSocket to self
MAX_BATCH = 500  # records per RecordBatch
BATCH_INTERVAL_S = 0.005  # at most ~200 batches/s per connector, at most 5 ms added latency
STATS_EVERY_S = 0.5
STATS_HEARTBEAT_S = 5.0  # unchanged stats are still sent this often
PERMIT_WAIT_S = 10.0  # no permit by then (lost request): connect anyway
STOP_DRAIN_FRAMES = 5000


@dataclass(frozen=True, slots=True)
class DrainSocket:
    """Sent to itself when a drain stopped early: TLS may hold data that select cannot see."""


def _log() -> logging.Logger:  # at call time: module-level loggers bypass Thespian's forwarding
    return logging.getLogger("krwfeed.connector")


def _now_us() -> int:
    return time.time_ns() // 1000


class ConnectorActor(ActorTypeDispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        die_with_parent()
        self.start: StartConnector | None = None
        self.connector: WebSocketConnector | None = None
        self.window = BatchWindow(MAX_BATCH, BATCH_INTERVAL_S)
        self.stopped = False
        self.awaiting_permit = 0  # the permit request's number, 0 when not waiting
        self.permit_requests = 0
        self.retry_armed = False
        self.flush_armed = False
        self.last_stats: ConnectorStats | None = None
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
            _log().warning("%s: second StartConnector ignored", self.start.connection_id)
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
        _log().info("%s: %s %d codes via %s", msg.connection_id, cfg.name, len(cfg.markets), cfg.ws_url)
        self._request_connect()
        return self._watch()

    def _report_state(self, old: S, new: S, reason: str, attempt: int) -> None:
        assert self.start is not None
        start = self.start
        if start.supervisor is not None:
            self.send(start.supervisor, StateChanged(
                start.connection_id, start.exchange_config.name, old, new, reason, _now_us(), attempt))
        level = logging.WARNING if new in (S.RECONNECTING, S.FAILED) else logging.INFO
        _log().log(level, "%s: %s -> %s (%s)", start.connection_id, old.value, new.value, reason)

    # --- connecting --------------------------------------------------------------------------
    def _request_connect(self) -> None:
        assert self.start is not None
        if self.stopped:
            return
        if self.start.supervisor is None:
            self._connect_now()
            return
        self.permit_requests += 1
        self.awaiting_permit = self.permit_requests
        self.send(self.start.supervisor, ConnectRequest(self.start.connection_id, self.start.exchange_config.name))
        self.wakeupAfter(PERMIT_WAIT_S, ("permit-timeout", self.awaiting_permit))

    def receiveMsg_ConnectPermit(self, msg: ConnectPermit, sender: Any) -> ThespianWatch | None:
        if self.awaiting_permit and not self.stopped:
            self.awaiting_permit = 0
            self._connect_now()
        return self._watch()

    def _connect_now(self) -> None:
        assert self.connector is not None
        try:
            self.connector.connect()  # blocks for at most connect_timeout_s
        except ConnectionFailedException as err:
            _log().error("%s: giving up: %s", self.connector.connection_id, err)
        except ConnectionException as err:
            _log().warning("%s: %s", self.connector.connection_id, err)
        if self.connector.state is S.CONNECTED:
            # The handshake may have pulled the first frames into the TLS buffer: read them now.
            self.send(self.myAddress, DrainSocket())
        self._arm_retry()

    def _arm_retry(self) -> None:
        connector = self.connector
        if connector is None or self.stopped or self.retry_armed or connector.state is not S.RECONNECTING:
            return
        self.retry_armed = True
        self.wakeupAfter(connector.next_retry_s or 0.0, "retry")

    # --- reading -----------------------------------------------------------------------------
    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> ThespianWatch | None:
        self._drain(MAX_FRAMES_PER_DRAIN)
        return self._watch()

    def receiveMsg_DrainSocket(self, msg: DrainSocket, sender: Any) -> ThespianWatch | None:
        self._drain(MAX_FRAMES_PER_DRAIN)
        return self._watch()

    def _drain(self, max_frames: int) -> None:
        if self.connector is None or self.stopped:
            return
        result = self.connector.drain(max_frames)
        if result.records:
            self.window.add(result.records)
        if result.more:
            self.send(self.myAddress, DrainSocket())
        self._flush(force=False)
        self._arm_retry()

    def _flush(self, force: bool) -> None:
        assert self.start is not None
        now = time.monotonic()
        while self.window.pending and (force or self.window.due(now)):
            self.send(self.start.buffer, RecordBatch(self.window.take(now)))
        if self.window.pending and not self.flush_armed:
            self.flush_armed = True
            self.wakeupAfter(self.window.wait_s(now), "flush")

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
        elif isinstance(payload, tuple) and payload == ("permit-timeout", self.awaiting_permit):
            _log().warning("%s: no connect permit within %.0f s; connecting anyway",
                           self.connector.connection_id, PERMIT_WAIT_S)
            self.awaiting_permit = 0
            self._connect_now()
        return self._watch()

    def _send_stats(self, force: bool) -> None:
        assert self.start is not None and self.connector is not None
        stats = self.connector.stats()
        now = time.monotonic()
        if self.start.supervisor is None:
            return
        if force or stats != self.last_stats or now - self.last_stats_at >= STATS_HEARTBEAT_S:
            self.send(self.start.supervisor, stats)
            self.last_stats, self.last_stats_at = stats, now

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
