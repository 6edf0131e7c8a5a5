"""One exchange WebSocket connection, driven without ever blocking on reads (seed S1.4, S2.1, S2.2).

The actor calls ``connect()``, then ``drain()`` whenever the socket's file descriptor is readable
and ``tick()`` on a timer; ``stream_market_data()`` wraps the same steps in a generator for plain
use. After connecting, the socket is non-blocking: ``drain()`` reads until it would block, which
also empties the TLS layer's buffer that ``select`` cannot see (thespian notes §2).

The parts: ``socket_lifecycle`` (connect, lose, disconnect and the state rules),
``frame_reader`` (socket reads and pings), ``subscription`` (handshake and tickets),
``plain_stream`` (the generator). This class holds the connection's parts and its reports.
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from connectors.backoff import Backoff
from connectors.connection_log import StateListener, StateLog
from connectors.connector_metrics import ConnectorMetrics
from connectors.frame_pipeline import Encoder, FramePipeline
from connectors.frame_reader import DrainResult, ping_or_stall, read_frames
from connectors.liveness import Liveness
from connectors.plain_stream import stream
from connectors.socket_lifecycle import SocketLifecycle
from connectors.socket_ops import new_socket
from connectors.subscription import SubscriptionTickets
from exchanges.base import ExchangeAdapter
from messages.config import ExchangeConfig
from messages.protocol import ConnectorStats, TicketReport
from messages.records import EncodedRecord
from messages.state import ConnectionState as S
from pipeline.utc_clock import utc_now_us

__all__ = ["DrainResult", "WebSocketConnector", "utc_now_us"]


class WebSocketConnector(SocketLifecycle):
    def __init__(
        self,
        config: ExchangeConfig,
        adapter: ExchangeAdapter,
        *,
        connection_id: str = "",
        encode: Encoder | None = None,
        ws_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now_us: Callable[[], int] = utc_now_us,
        on_state: StateListener | None = None,
        backoff: Backoff | None = None,
        close_timeout_s: float = 1.0,
    ) -> None:
        self.config = config
        self.adapter = adapter
        self.connection_id = connection_id or f"{config.name}-0"
        self.codes = tuple(config.markets)
        self.pipeline = FramePipeline(adapter, self.codes, encode)
        self.backoff = backoff or Backoff.from_config(config)
        self.liveness = Liveness(config.ping_interval_s, config.pong_timeout_s, config.stale_timeout_s)
        self.tickets = SubscriptionTickets(now_us)
        self.next_retry_s = None
        self.reconnects = 0
        self.last_reason = ""
        self._ws_factory = ws_factory or functools.partial(new_socket, config.max_frame_bytes)
        self._clock = clock
        self._now_us = now_us
        self._close_timeout_s = close_timeout_s
        self._lock = threading.RLock()
        self._wake = threading.Event()  # interrupts the plain stream's waits on disconnect()
        self._ws = None  # the connected socket
        self._handshaking = None  # the socket whose handshake is under way
        self._was_connected = False
        self.metrics = ConnectorMetrics(self.connection_id, config.name)
        self._listener = on_state
        self._log = StateLog(self._on_transition)
        self.metrics.state(self._log.state)

    def _on_transition(self, old: S, new: S, reason: str, attempt: int) -> None:
        self.metrics.state(new)
        self.metrics.sync(self.pipeline.counters, self.reconnects)
        if self._listener is not None:
            self._listener(old, new, reason, attempt)

    # --- reports -----------------------------------------------------------------------------
    def get_connection_state(self) -> S:
        return self._log.state

    @property
    def transitions(self) -> list[tuple[S, S, str, int]]:
        """Recent state changes (old, new, reason, attempt), oldest first."""
        return list(self._log.history)

    def fileno(self) -> int | None:
        """The connected socket's descriptor (to watch), or None when there is none."""
        ws = self._ws
        sock = getattr(ws, "sock", None) if ws is not None else None
        return sock.fileno() if sock is not None else None

    def stats(self) -> ConnectorStats:
        """Cumulative counters, as the supervisor's status snapshot wants them."""
        c = self.pipeline.counters
        return ConnectorStats(
            self.connection_id, self.config.name, self.codes, c.received, c.malformed, c.duplicates,
            c.unsubscribed, c.ignored_types, self.reconnects, dict(c.last_message_us),
        )

    def subscription_report(self) -> dict[str, tuple[str, ...]]:
        """Ticket -> codes of recent subscription requests, the active one last (seed S2.2-l)."""
        return self.tickets.codes()

    def ticket_report(self) -> tuple[TicketReport, ...]:
        """The same tickets with their data types, send time and first-data times."""
        return self.tickets.report()

    # --- reading -----------------------------------------------------------------------------
    def drain(self, max_frames: int = 500) -> DrainResult:
        """Read frames until the socket would block or ``max_frames`` were read."""
        ws = self._ws
        if ws is None or self.state is not S.CONNECTED:
            return DrainResult((), 0, False, "")
        records, frames, lost = read_frames(
            ws, max_frames, self.pipeline, self.liveness, self.backoff, self._clock, self._now_us
        )
        if records and self.tickets.waiting:
            self.tickets.data(records)
        if frames:
            self.metrics.sync(self.pipeline.counters, self.reconnects)
        if lost:
            self._lose(lost)
            self._log.flush()
        return DrainResult(tuple(records), frames, frames >= max_frames and not lost, lost)

    def tick(self) -> str:
        """Send a due ping or detect a stall. Returns why the connection was lost, or ""."""
        ws = self._ws
        if ws is None or self.state is not S.CONNECTED:
            return ""
        reason = ping_or_stall(ws, self.liveness, self._clock())
        if reason:
            self._lose(reason)
            self._log.flush()
        return reason

    def next_tick_in(self) -> float:
        return self.liveness.next_check_in(self._clock())

    def stream_market_data(self, max_frames: int = 500) -> Generator[EncodedRecord, None, None]:
        """Yield records until ``disconnect()``; reconnects on its own (seed S2.2-d/e/k).

        Raises RuntimeError before ``connect()``, and ConnectionFailedException once the retry
        budget is spent. A generator rather than a queue: nothing accumulates between reads.
        """
        if self.state in (S.DISCONNECTED, S.FAILED):
            raise RuntimeError(f"stream_market_data() needs connect() first (state {self.state.value})")
        return stream(self, max_frames)

    @property
    def wake_event(self) -> threading.Event:
        return self._wake

    def wait_for_retry(self) -> bool:
        """Sleep out the backoff; False if ``disconnect()`` interrupted it."""
        return not self._wake.wait(self.next_retry_s or 0.0)
