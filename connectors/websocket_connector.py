"""One exchange WebSocket connection, driven without ever blocking on reads (seed S1.4, S2.1, S2.2).

The actor calls ``connect()``, then ``drain()`` whenever the socket's file descriptor is readable
and ``tick()`` on a timer; ``stream_market_data()`` wraps the same steps in a generator for plain
use. After connecting, the socket is non-blocking: ``drain()`` reads until it would block, which
also empties the TLS layer's buffer that ``select`` cannot see (thespian notes §2).

Rules kept here: the state is set before any exception is raised; every failure path releases
the socket; ``connect()`` is idempotent and never opens a second socket; ``disconnect()`` is safe
in every state, including while a handshake is under way in another thread; losing a connection
is a state change plus a scheduled retry, never a recursive call.
"""
from __future__ import annotations

import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import websocket

from connectors.backoff import Backoff
from connectors.connection_log import StateListener, StateLog
from connectors.connector_metrics import ConnectorMetrics
from connectors.frame_pipeline import MALFORMED, Encoder, FramePipeline
from connectors.liveness import Liveness
from connectors.plain_stream import stream
from connectors.socket_ops import abort, close, close_text, release
from exchanges.base import ExchangeAdapter, FrameKind
from messages.config import ExchangeConfig
from messages.exceptions import ConnectionException, ConnectionFailedException
from messages.protocol import ConnectorStats
from messages.records import EncodedRecord
from messages.state import ConnectionState as S

_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
_KEPT_TICKETS = 16


def utc_now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class DrainResult:
    records: tuple[EncodedRecord, ...]
    frames: int
    more: bool  # stopped at max_frames: data may still wait (possibly inside TLS), read again
    lost: str  # why the connection was lost during this drain, or ""


def _new_socket() -> websocket.WebSocket:
    # UTF-8 is checked by the adapter's decode (a bad frame is counted, the connection kept);
    # websocket-client's own check is pure Python per byte and would drop the connection instead.
    return websocket.WebSocket(enable_multithread=False, skip_utf8_validation=True)


class WebSocketConnector:
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
        self.codes: tuple[str, ...] = tuple(config.markets)
        self.pipeline = FramePipeline(adapter, self.codes, encode)
        self.backoff = backoff or Backoff.from_config(config)
        self.liveness = Liveness(config.ping_interval_s, config.pong_timeout_s, config.stale_timeout_s)
        self.tickets: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self.next_retry_s: float | None = None
        self.reconnects = 0
        self.last_reason = ""
        self._ws_factory = ws_factory or (_new_socket)
        self._clock = clock
        self._now_us = now_us
        self._close_timeout_s = close_timeout_s
        self._lock = threading.RLock()
        self._wake = threading.Event()  # interrupts the plain stream's waits on disconnect()
        self._ws: Any = None  # the connected socket
        self._handshaking: Any = None  # the socket whose handshake is under way
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

    # --- state -------------------------------------------------------------------------------
    @property
    def state(self) -> S:
        return self._log.state

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
        return dict(self.tickets)

    # --- connecting --------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the socket and subscribe. Does nothing while connecting or connected.

        On failure the state becomes RECONNECTING (``next_retry_s`` says when to try again) and
        ``ConnectionException`` is raised, or FAILED with ``ConnectionFailedException`` when the
        retry budget is spent.
        """
        with self._lock:
            state = self.state
            if state in (S.CONNECTING, S.CONNECTED):
                return
            if state is S.FAILED:
                raise ConnectionFailedException(
                    "reconnect budget spent", exchange=self.config.name, connection=self.connection_id
                )
            if state is S.RECONNECTING and not self.backoff.begin_attempt():
                self._fail("reconnect budget spent")
                self._log.flush()
                raise ConnectionFailedException(
                    "reconnect budget spent", exchange=self.config.name, connection=self.connection_id,
                    attempts=self.backoff.attempts,
                )
            ws = self._handshaking = self._ws_factory()
            self._wake.clear()
            self._log.move(S.CONNECTING, "connect", self.backoff.attempts)
        self._log.flush()
        try:
            self._handshake(ws)
        except Exception as err:  # any handshake failure: release, schedule a retry, report
            self._after_failed_handshake(ws, err)
            return
        with self._lock:
            self._handshaking = None
            if self.state is not S.CONNECTING:  # disconnect() ran during the handshake
                release(ws)
                return
            self._ws = ws
            now = self._clock()
            self.liveness.start(now)
            self.backoff.connected(now)
            self.next_retry_s = None
            if self._was_connected:
                self.reconnects += 1
            self._was_connected = True
            self._log.move(S.CONNECTED, "subscribed", self.backoff.attempts)
        self._log.flush()

    def _handshake(self, ws: Any) -> None:
        cfg = self.config
        # No Origin header: Upbit throttles requests carrying one to 1 per 10 s (protocols §1.2).
        ws.connect(cfg.ws_url, timeout=cfg.connect_timeout_s, suppress_origin=True)
        request = self.adapter.subscription_request(
            self.codes, cfg.data_types, fmt=cfg.format, depth=cfg.orderbook_depth
        )
        ws.send(request.text)
        ws.settimeout(0)
        self.tickets[request.ticket] = request.codes
        while len(self.tickets) > _KEPT_TICKETS:
            self.tickets.popitem(last=False)

    def _after_failed_handshake(self, ws: Any, err: Exception) -> None:
        with self._lock:
            self._handshaking = None
            release(ws)
            if self.state is not S.CONNECTING:  # disconnect() won: nothing to report
                return
            reason = f"connect failed: {type(err).__name__}: {err}"
            failed = self._schedule_retry(reason)
        self._log.flush()
        context = {"exchange": self.config.name, "connection": self.connection_id, "url": self.config.ws_url}
        if failed:
            raise ConnectionFailedException("connecting failed and the retry budget is spent", **context) from err
        raise ConnectionException("connecting failed; a retry is scheduled", retry_in_s=self.next_retry_s,
                                  **context) from err

    def _schedule_retry(self, reason: str) -> bool:
        """Move to RECONNECTING with a backoff delay, or to FAILED. True when FAILED."""
        self.last_reason = reason
        delay = self.backoff.next_delay()
        if delay is None:
            if self.state is S.CONNECTED:  # CONNECTED -> FAILED is not a valid move
                self._log.move(S.RECONNECTING, reason, self.backoff.attempts)
            self._fail(reason)
            return True
        self._log.move(S.RECONNECTING, reason, self.backoff.attempts)
        self.next_retry_s = delay
        return False

    def _fail(self, reason: str) -> None:
        self.next_retry_s = None
        self._log.move(S.FAILED, f"retry budget spent; last error: {reason}", self.backoff.attempts)

    def _lose(self, reason: str) -> None:
        """The connected socket is gone (drop, close frame, stall, error frame): retry later."""
        with self._lock:
            if self.state is not S.CONNECTED:
                return
            ws, self._ws = self._ws, None
            self.backoff.disconnected(self._clock())
            release(ws)
            self._schedule_retry(reason)

    def disconnect(self, reason: str = "disconnect requested") -> None:
        """Close and release everything; safe in any state and from another thread."""
        with self._lock:
            self._wake.set()
            state = self.state
            ws, self._ws = self._ws, None
            handshaking, self._handshaking = self._handshaking, None
            if state is not S.DISCONNECTED:
                self.next_retry_s = None
                self._log.move(S.DISCONNECTED, reason, self.backoff.attempts)
        # Sockets are closed outside the lock: a close handshake may take up to close_timeout_s.
        if handshaking is not None:
            abort(handshaking)  # the thread in connect() sees the state and gives up
        if ws is not None:
            close(ws, self._close_timeout_s)
        self._log.flush()

    # --- reading -----------------------------------------------------------------------------
    def drain(self, max_frames: int = 500) -> DrainResult:
        """Read frames until the socket would block or ``max_frames`` were read."""
        ws = self._ws
        if ws is None or self.state is not S.CONNECTED:
            return DrainResult((), 0, False, "")
        records: list[EncodedRecord] = []
        frames = 0
        lost = ""
        pipeline = self.pipeline
        while frames < max_frames:
            try:
                opcode, frame = ws.recv_data_frame(True)
            except _WOULD_BLOCK:
                break
            except (websocket.WebSocketException, OSError, ValueError) as err:
                lost = f"connection lost: {type(err).__name__}: {err}"
                break
            frames += 1
            now = self._clock()
            self.liveness.alive(now)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                lost = f"close frame from the server: {close_text(frame.data)}"
                break
            if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
                continue
            outcome = pipeline.process(frame.data, self._now_us())
            if outcome.kind == FrameKind.ERROR.value:
                lost = f"error frame: {outcome.detail}"
                break
            if outcome.kind != MALFORMED:
                self.backoff.still_connected(now)
            records.extend(outcome.records)
        if frames:
            self.metrics.sync(pipeline.counters, self.reconnects)
        if lost:
            self._lose(lost)
            self._log.flush()
        return DrainResult(tuple(records), frames, frames >= max_frames and not lost, lost)

    def tick(self) -> str:
        """Send a due ping or detect a stall. Returns why the connection was lost, or ""."""
        ws = self._ws
        if ws is None or self.state is not S.CONNECTED:
            return ""
        now = self._clock()
        reason = self.liveness.stall_reason(now)
        if not reason and self.liveness.ping_due(now):
            try:
                ws.ping()
                self.liveness.pinged(now)
            except _WOULD_BLOCK:
                pass  # send buffer full: the next tick tries again
            except (websocket.WebSocketException, OSError) as err:
                reason = f"ping failed: {type(err).__name__}: {err}"
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
