"""The connector actor: one exchange WebSocket connection carrying a group of market codes.

It never blocks on a socket. Thespian watches two descriptors for it (``ThespianWatch`` is
returned from every handler, since the transport replaces the watch list after each message):
the exchange's socket, which ``drain()`` reads until it would block, and its record channel to
the buffer (``actors.record_channel``), which only ever says the buffer went away. While frames
flow the exchange's socket is not watched but read by a ``poll`` timer once per batch window
(``connectors.batch_window``: one wake-up per window, not one per frame). Timers
(``wakeupAfter``) drive pings, stall checks, batch flushes, polls, stats and reconnects.

Records leave in batches on the record channel: a batch goes when it is full or the start
message's ``batch_window_s`` (``buffer.linger_ms``: ``publishers.kafka_batching``) after the
previous one, so the number of writes follows the data, not the frames. What cannot be handed to the buffer (the channel down or its queue full beyond its
bound) is counted as dropped with reason ``channel_unavailable``, never lost silently.

After a reconnect (the connection had streamed, dropped, and is subscribed again) it backfills the
trades its markets made while away from REST (``connectors.backfill`` plans and paces the
requests): a ``RestClient`` runs the GETs on a worker thread and its descriptor is watched next to
the socket, a ``backfill`` timer waits out the rate limit. Recovered trades go through the frame
pipeline's checks and dedupe (so the stream and REST never both publish a trade) into the same
batches, marked ``source`` = rest; each market's outcome (BACKFILLED or GAP) goes to the events
producer when ``StartConnector.events`` is set. ``backfill: false`` turns all of this off.

Before each (re)connection it asks the supervisor for a ``ConnectPermit``, which paces connects
under the exchanges' per-IP limits; a lost permit request does not strand the connection:
after ``PERMIT_WAIT_S`` it connects anyway. Every state change is reported as ``StateChanged``,
and the ones that make a connection event (``connectors.connection_events``) go as ``PublishEvent``
to the events producer (``StartConnector.events``, unless events are off).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from thespian.actors import ActorExitRequest, ThespianWatch, WakeupMessage, WatchMessage

from actors.record_channel import ChannelEnd, encode_records
from actors.service_actor import ServiceActor
from connectors.backfill import REST_WORKERS, ConnectionBackfill, outcome_event, rest_rate, supports_backfill
from connectors.batch_window import BatchWindow
from connectors.connection_events import ConnectionEvents
from connectors.rest_client import RestClient
from connectors.websocket_connector import WebSocketConnector
from domain.clock import utc_now_us
from domain.exceptions import ConnectionException, ConnectionFailedException
from domain.market_data import MarketDataMessage
from domain.records import Exchange
from domain.state import ConnectionState as S
from exchanges.registry import get_adapter
from messages import (
    ConnectorStats,
    ConnectPermit,
    ConnectRequest,
    EventsRoute,
    PublishEvent,
    StartConnector,
    StateChanged,
    StopConnector,
    SubscriptionQuery,
    SubscriptionReport,
    UpdateCodes,
)
from monitoring.metrics import DATA_PATH_MESSAGES, MESSAGES_DROPPED
from publishers.kafka_batching import MAX_WINDOW_RECORDS
from tape.backfill import BackfillOutcome

MAX_FRAMES_PER_DRAIN = 500  # then yield to other messages and continue with a DrainSocket to self
MAX_UNSENT = 50_000  # records held while the buffer's channel is down; beyond that they are dropped
STATS_EVERY_S = 0.5
STATS_HEARTBEAT_S = 5.0  # unchanged stats are still sent this often
STOP_DRAIN_FRAMES = 5000
STOP_WRITE_TIMEOUT_S = 2.0
PERMIT_WAIT_S = 10.0  # no permit by then (lost request): connect anyway
PERMIT_TIMEOUT = "permit-timeout"
RESUBSCRIBE = "resubscribe"
UNAVAILABLE = "channel_unavailable"
BACKFILL_TIMER = "backfill"
REASON_STOPPED = "stopped"  # the connection stopped before its backfill ended


def connector_log() -> logging.Logger:  # at call time: module-level loggers bypass Thespian's forwarding
    return logging.getLogger("krwfeed.connector")


@dataclass(frozen=True, slots=True)
class DrainSocket:
    """Sent to itself when a drain stopped early: TLS may hold data that select cannot see."""


class ConnectorActor(ServiceActor):
    role = "connector"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start: StartConnector | None = None
        self.connector: WebSocketConnector | None = None
        self.channel: ChannelEnd | None = None
        self.window = BatchWindow(MAX_WINDOW_RECORDS)
        self.undeliverable: Counter[str] = Counter()  # data type -> records that could not be handed on
        self.stopped = False
        self.awaiting_permit = 0  # the permit request's number, 0 when not waiting
        self.permit_requests = 0
        self.retry_armed = False
        self.flush_armed = False
        self.poll_armed = False
        self.tick_s = 1.0
        self.last_stats: ConnectorStats | None = None
        self.last_stats_at = 0.0
        self.tickets_reported = 0  # the ticket book's version the supervisor last got
        self.events: ConnectionEvents | None = None
        self.backfill: ConnectionBackfill | None = None  # None: backfill is off
        self.rest: RestClient | None = None  # made on the first backfill
        self.backfill_armed = False
        self.subscribed_us = 0  # when the current (or last) connection subscribed
        self.backfill_began = 0.0
        self.backfill_run_trades = 0
        self.backfill_run_gaps = 0
        self.resubscribe_armed = False

    # --- the watch, on every path ------------------------------------------------------------
    def _watch(self) -> ThespianWatch | None:
        # Never return the descriptor of a closed socket: Thespian may reuse the number.
        fds = []
        if self.connector is not None and not self.stopped:
            fd = self.connector.fileno()
            if fd is not None and not self.window.polling:  # polling: a timer reads it (BatchWindow)
                fds.append(fd)
            channel_fd = self.channel.fileno() if self.channel is not None else None
            if channel_fd is not None:
                fds.append(channel_fd)
            if self.rest is not None:
                fds.append(self.rest.fileno())
        return ThespianWatch(fds) if fds else None

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> ThespianWatch | None:
        return self._watch()

    # --- start -------------------------------------------------------------------------------
    def receiveMsg_StartConnector(self, msg: StartConnector, sender: Any) -> ThespianWatch | None:
        if self.start is not None:
            connector_log().warning("%s: second StartConnector ignored", self.start.connection_id)
            return self._watch()
        self.start = msg
        self.window = BatchWindow(MAX_WINDOW_RECORDS, msg.batch_window_s)
        self.announce(msg.supervisor, msg.connection_id)
        cfg = msg.exchange_config
        self.events = ConnectionEvents(Exchange(cfg.name), msg.connection_id, tuple(cfg.markets))
        self.connector = WebSocketConnector(
            cfg, get_adapter(cfg.name), connection_id=msg.connection_id, on_state=self._report_state
        )
        if cfg.backfill and supports_backfill(cfg.name):
            self.backfill = ConnectionBackfill(cfg.name, rest_rate(cfg.name, msg.rest_share), cfg.backfill_budget)
        self.tick_s = min(1.0, max(0.05, min(cfg.ping_interval_s, cfg.pong_timeout_s, cfg.stale_timeout_s) / 4))
        self.wakeupAfter(self.tick_s, "tick")
        self.wakeupAfter(STATS_EVERY_S, "stats")
        connector_log().info("%s: %s %d codes via %s", msg.connection_id, cfg.name, len(cfg.markets), cfg.ws_url)
        self._open_channel()
        self._request_connect()
        return self._watch()

    def _report_state(self, old: S, new: S, reason: str, attempt: int) -> None:
        assert self.start is not None
        start = self.start
        at_us = utc_now_us()
        if self.events is not None and self.connector is not None:
            # before the StateChanged: at a stop the supervisor flushes the events producer only
            # after every connector reported its last state
            event = self.events.on_transition(old, new, reason, at_us, self.connector.last_data_us())
            if event is not None and start.events is not None:
                self.send(start.events, PublishEvent(event))
        if start.supervisor is not None:
            self.send(start.supervisor, StateChanged(
                start.connection_id, start.exchange_config.name, old, new, reason, at_us, attempt))
        level = logging.WARNING if new in (S.RECONNECTING, S.FAILED) else logging.INFO
        connector_log().log(level, "%s: %s -> %s (%s)", start.connection_id, old.value, new.value, reason)
        if new is S.CONNECTED:
            previous_us, self.subscribed_us = self.subscribed_us, utc_now_us()
            if self.connector is not None and self.connector.reconnects > 0 and previous_us:
                self._begin_backfill(previous_us, self.subscribed_us)

    # --- backfill after a reconnect ----------------------------------------------------------
    def _begin_backfill(self, since_us: int, resume_us: int) -> None:
        """The connection is subscribed again after a drop: fetch what its markets traded meanwhile,
        from the last trade read before the drop (a market without one: since the previous
        connection subscribed)."""
        if self.backfill is None or self.connector is None or self.stopped:
            return
        pipeline = self.connector.pipeline
        if self.rest is None:
            cfg = self.connector.config
            self.rest = RestClient(cfg.rest_url, timeout_s=max(1.0, cfg.connect_timeout_s), workers=REST_WORKERS,
                                   ca_file=cfg.tls_ca_file)
        self.backfill.begin(sorted(pipeline.codes), pipeline.last_trades, since_us, resume_us, pipeline.seen)
        self.backfill_began = time.monotonic()
        self.backfill_run_trades = self.backfill_run_gaps = 0
        self._pump_backfill()

    def _pump_backfill(self) -> None:
        backfill, rest = self.backfill, self.rest
        if backfill is None or rest is None:
            return
        calls, wait_s = backfill.poll(time.monotonic())
        for call in calls:
            if not rest.submit(call.tag, call.path, call.query):
                backfill.on_answer(call.tag, None, b"", time.monotonic(), utc_now_us())
        if wait_s is not None and not self.backfill_armed:
            self.backfill_armed = True
            self.wakeupAfter(max(wait_s, 0.005), BACKFILL_TIMER)
        self._publish_outcomes()

    def _collect_answers(self) -> None:
        assert self.backfill is not None and self.rest is not None
        for answer in self.rest.collect():
            status = 200 if answer.ok else 429 if answer.rate_limited else None
            self.backfill.on_answer(answer.tag, status, answer.body, time.monotonic(), utc_now_us(),
                                    answer.retry_after_s)
        self._pump_backfill()

    def _publish_outcomes(self) -> None:
        if self.backfill is None or self.connector is None:
            return
        outcomes = self.backfill.take_outcomes()
        if not outcomes:
            return
        pipeline = self.connector.pipeline
        for outcome in outcomes:
            records = pipeline.admit_backfill(outcome.trades, outcome.rejected, utc_now_us())
            if records:
                self.window.add(records)
            self.backfill.counts.recovered += len(records)
            self.backfill_run_trades += len(records)
            self.backfill_run_gaps += not outcome.closed
            self._send_event(outcome, len(records))
        self._flush(force=False)
        if not self.backfill.active:
            counts = self.backfill.counts
            connector_log().log(
                logging.WARNING if self.backfill_run_gaps else logging.INFO,
                "%s: backfill after reconnect %d done in %.2f s: %d trades recovered, %d markets with a gap "
                "(so far: %d requests, %d failed, %d answered 429)", self.connector.connection_id,
                self.backfill.run, time.monotonic() - self.backfill_began, self.backfill_run_trades,
                self.backfill_run_gaps, counts.requests, counts.failures, counts.rate_limited)

    def _send_event(self, outcome: BackfillOutcome, recovered: int) -> None:
        assert self.start is not None
        if self.start.events is None:
            return
        self.send(self.start.events, PublishEvent(outcome_event(
            self.start.exchange_config.name, self.start.connection_id, outcome, recovered, utc_now_us())))

    def receiveMsg_EventsRoute(self, msg: EventsRoute, sender: Any) -> ThespianWatch | None:
        if self.start is not None:
            self.start = dataclasses.replace(self.start, events=msg.events)
        return self._watch()

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
        self.wakeupAfter(PERMIT_WAIT_S, (PERMIT_TIMEOUT, self.awaiting_permit))

    def receiveMsg_ConnectPermit(self, msg: ConnectPermit, sender: Any) -> ThespianWatch | None:
        if self.awaiting_permit and not self.stopped:
            self.awaiting_permit = 0
            self._connect_now()
        return self._watch()

    def _permit_timed_out(self) -> None:
        assert self.connector is not None
        connector_log().warning("%s: no connect permit within %.0f s; connecting anyway",
                                self.connector.connection_id, PERMIT_WAIT_S)
        self.awaiting_permit = 0
        self._connect_now()

    def _connect_now(self) -> None:
        assert self.connector is not None
        try:
            self.connector.connect()  # blocks for at most connect_timeout_s
        except ConnectionFailedException as err:
            connector_log().error("%s: giving up: %s", self.connector.connection_id, err)
        except ConnectionException as err:
            connector_log().warning("%s: %s", self.connector.connection_id, err)
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

    # --- reading and handing on --------------------------------------------------------------
    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> ThespianWatch | None:
        channel_fd = self.channel.fileno() if self.channel is not None else None
        if channel_fd is not None and channel_fd in msg.ready:
            self._check_channel()
        if self.rest is not None and not self.stopped and self.rest.fileno() in msg.ready:
            self._collect_answers()
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
        if not result.more:
            next_read_s = self.window.after_read(result.frames, time.monotonic())
            if next_read_s is not None and not self.poll_armed:
                self.poll_armed = True
                self.wakeupAfter(next_read_s, "poll")
        self._arm_retry()

    def _flush(self, force: bool) -> None:
        now = time.monotonic()
        while self.window.pending and (force or self.window.due(now)):
            if not self._hand_on(self.window.take(now)):
                break
        if self.window.pending and not self.flush_armed and not self.window.polling:
            self.flush_armed = True
            self.wakeupAfter(max(self.window.wait_s(now), self.window.min_interval_s), "flush")

    def _hand_on(self, batch: tuple[MarketDataMessage, ...]) -> bool:
        """Writes one batch to the buffer's channel. With the channel down the batch goes back to the
        window (bounded by ``MAX_UNSENT``); False then, so the caller stops writing for now."""
        channel = self._open_channel()
        if channel is not None and channel.write_all(encode_records(batch)):
            DATA_PATH_MESSAGES.labels("connector_to_buffer").inc()
            return True
        self.window.pending[:0] = batch
        excess = len(self.window.pending) - MAX_UNSENT
        if excess > 0:
            self._drop(self.window.pending[:excess])
            del self.window.pending[:excess]
        return False

    def _drop(self, records: list[MarketDataMessage]) -> None:
        assert self.start is not None
        exchange = self.start.exchange_config.name
        by_type = Counter(r.data_type for r in records)
        for data_type, n in by_type.items():
            MESSAGES_DROPPED.labels(exchange, data_type, UNAVAILABLE).inc(n)
        self.undeliverable.update(by_type)
        connector_log().warning("%s: %d records dropped: the buffer's channel is unavailable",
                                self.start.connection_id, len(records))

    def _open_channel(self) -> ChannelEnd | None:
        if self.channel is not None and not self.channel.closed:
            return self.channel
        assert self.start is not None
        try:
            self.channel = ChannelEnd.connect(self.start.channel_path, f"connector:{self.start.connection_id}")
        except OSError:
            self.channel = None  # the buffer is not listening yet (starting or restarting): retried
        return self.channel

    def _check_channel(self) -> None:
        """The buffer never writes to a connector: readable means it closed (or broke) the channel."""
        assert self.channel is not None
        self.channel.read()
        if self.channel.closed:
            connector_log().warning("%s: the buffer closed the record channel; reconnecting to it",
                                    self.start.connection_id if self.start else "?")
            self.channel = None

    # --- timers ------------------------------------------------------------------------------
    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> ThespianWatch | None:
        payload = msg.payload
        if self.connector is None or self.stopped:
            return self._watch()
        if payload == "tick":
            self.connector.tick()
            if self.channel is not None:
                self.channel.flush()
            self._arm_retry()
            self.wakeupAfter(self.tick_s, "tick")
        elif payload == "flush":
            self.flush_armed = False
            self._flush(force=False)
        elif payload == "poll":
            self.poll_armed = False
            self._drain(MAX_FRAMES_PER_DRAIN)
        elif payload == BACKFILL_TIMER:
            self.backfill_armed = False
            self._pump_backfill()
        elif payload == "stats":
            self._send_stats(force=False)
            self.wakeupAfter(STATS_EVERY_S, "stats")
        elif payload == "retry":
            self.retry_armed = False
            if self.connector.state is S.RECONNECTING:
                self._request_connect()
        elif payload == RESUBSCRIBE:
            self.resubscribe_armed = False
            self._arm_resubscribe(self.connector.resubscribe())
        elif isinstance(payload, tuple) and payload == (PERMIT_TIMEOUT, self.awaiting_permit):
            self._permit_timed_out()
        return self._watch()

    def _send_stats(self, force: bool) -> None:
        assert self.start is not None and self.connector is not None
        stats = dataclasses.replace(self.connector.stats(), undeliverable=sum(self.undeliverable.values()))
        if self.backfill is not None:
            counts = self.backfill.counts
            stats = dataclasses.replace(stats, backfilled=counts.recovered, rest_requests=counts.requests,
                                        rest_failures=counts.failures, rest_rate_limited=counts.rate_limited,
                                        gaps=counts.gaps)
            self.connector.metrics.sync_backfill(
                counts.recovered, counts.requests - counts.failures - counts.rate_limited, counts.failures,
                counts.rate_limited, dict(counts.gap_reasons or {}))
        self.connector.sync_metrics()
        now = time.monotonic()
        if self.start.supervisor is None:
            return
        if force or stats != self.last_stats or now - self.last_stats_at >= STATS_HEARTBEAT_S:
            self.send(self.start.supervisor, stats)
            self.last_stats, self.last_stats_at = stats, now
        if self.connector.tickets.version != self.tickets_reported:  # a ticket sent, or its first data
            self.tickets_reported = self.connector.tickets.version
            self.send(self.start.supervisor, self._subscription_report())

    def _subscription_report(self) -> SubscriptionReport:
        connection_id = self.start.connection_id if self.start is not None else ""
        if self.connector is None:
            return SubscriptionReport(connection_id, {})
        return SubscriptionReport(connection_id, self.connector.subscription_report(), self.connector.ticket_report())

    # --- the market list changed -------------------------------------------------------------
    def receiveMsg_UpdateCodes(self, msg: UpdateCodes, sender: Any) -> ThespianWatch | None:
        if self.connector is None or self.stopped or self.start is None:
            return self._watch()
        before = set(self.connector.codes)
        self.start = dataclasses.replace(self.start, exchange_config=dataclasses.replace(
            self.start.exchange_config, markets=tuple(msg.codes)))
        wait = self.connector.set_codes(msg.codes)
        now = set(self.connector.codes)
        if self.events is not None:  # the connection's later events name the codes it carries now
            self.events.codes = tuple(self.connector.codes)
        connector_log().info("%s: now %d codes (+%d, -%d)%s", self.start.connection_id, len(now),
                             len(now - before), len(before - now),
                             f"; the new subscription waits {wait:.2f} s for the request limits" if wait else "")
        self._arm_resubscribe(wait)
        self._send_stats(force=True)
        return self._watch()

    def _arm_resubscribe(self, wait: float) -> None:
        if wait > 0 and not self.resubscribe_armed:
            self.resubscribe_armed = True
            self.wakeupAfter(wait, RESUBSCRIBE)

    # --- queries and stop --------------------------------------------------------------------
    def receiveMsg_SubscriptionQuery(self, msg: SubscriptionQuery, sender: Any) -> ThespianWatch | None:
        self.send(sender, self._subscription_report())
        return self._watch()

    def receiveMsg_StopConnector(self, msg: StopConnector, sender: Any) -> None:
        self._stop("stop requested")

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        self._stop("actor exit")

    def _stop(self, reason: str) -> None:
        """Hand on what was read, close the socket, report DISCONNECTED and final counts.

        Every byte is in the buffer's socket before DISCONNECTED is reported: the supervisor asks
        the buffer to drain only after that, and the buffer reads its channels first."""
        if self.stopped or self.connector is None:
            return
        self._drain(STOP_DRAIN_FRAMES)
        if self.backfill is not None and self.backfill.active:
            self.backfill.abandon(REASON_STOPPED)  # what was fetched is handed on; the rest is a gap
            self._publish_outcomes()
        if self.rest is not None:
            self.rest.close()
        self._flush(force=True)
        channel = self.channel
        if channel is None or not channel.flush_blocking(STOP_WRITE_TIMEOUT_S):
            unsent = list(self.window.pending)
            self.window.pending.clear()
            if unsent:
                self._drop(unsent)
        self.stopped = True
        # The final counts go before DISCONNECTED: the supervisor's stop takes DISCONNECTED as the
        # sign that this connection's counts are complete.
        self._send_stats(force=True)
        self.connector.disconnect(reason)
        if channel is not None:
            channel.close()
