"""One exchange WebSocket connection, driven without ever blocking on reads.

The connector actor calls ``connect()``, then ``drain()`` whenever the socket's file descriptor is
readable and ``tick()`` on a timer; ``stream_market_data()`` runs the same steps as a generator for
plain (non-actor) use. Frames go through the ``FramePipeline`` (``connectors.frame_pipeline``),
which turns them into ``MarketDataMessage`` values.

After connecting, the socket is non-blocking and ``drain()`` reads until it would block. That also
empties the TLS layer's buffer: bytes TLS has already decrypted sit in user space, where ``select``
on the descriptor cannot see them, so a reader that stopped early and waited for readability could
sit on data indefinitely. The same holds for whole frames read in a chunk and not yet decoded: a
drain that stops at its frame limit says so (``DrainResult.more``) and is run again at once.

This module holds the whole connection, in the order a connection lives it:

- sockets: websocket-client sockets read in chunks with a message size cap, and releasing them
  without raising;
- subscribing: the blocking handshake plus subscription, and the record of recent tickets;
- the state log: transitions checked against ``domain.state`` and reported in order;
- reading: frames until the socket would block, the keep-alive ping, stall detection;
- ``WebSocketConnector``: connect, lose, disconnect and the reports;
- the plain stream: the generator over all of the above.

Rules kept here: the state is set before any exception is raised; every failure path releases the
socket; ``connect()`` is idempotent and never opens a second socket; ``disconnect()`` is safe in
every state, including while a handshake is under way in another thread; losing a connection is a
state change plus a scheduled retry, never a recursive call.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import selectors
import socket
import ssl
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import websocket

from connectors.backoff import Backoff
from connectors.connector_metrics import ConnectorMetrics
from connectors.frame_pipeline import BAD_FRAMING, MALFORMED, OVERSIZED, Encoder, FramePipeline
from connectors.liveness import Liveness
from connectors.subscribe_pacer import SubscribePacer
from connectors.websocket_frames import CLOSE, PING, PONG, FrameDecoder, FrameProtocolError, MessageTooLarge
from domain.capabilities import CAPABILITIES
from domain.clock import utc_now_us
from domain.config import ExchangeConfig
from domain.exceptions import ConnectionException, ConnectionFailedException
from domain.market_data import MarketDataMessage
from domain.state import ConnectionState as S
from domain.state import check_transition
from exchanges.base import ExchangeAdapter, FrameKind
from messages import ConnectorStats, TicketReport

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES", "DrainResult", "FeedSocket", "StateLog", "SubscriptionTickets",
    "WebSocketConnector", "new_socket", "ping_or_stall", "read_frames",
]

_LOG = logging.getLogger("krwfeed.connector.frames")


# --- sockets ---------------------------------------------------------------------------------
# websocket-client makes the handshake and sends; frames are read by ``FeedSocket.next_message``,
# which reads the socket in chunks and cuts them with ``FrameDecoder`` (``connectors.websocket_frames``).
# The decoder refuses, with ``MessageTooLarge``, a frame whose header announces more than
# ``max_frame_bytes`` before buffering its payload, and a message whose fragments add up to more.
# The stream cannot be resumed after a refusal (the rest of the frame or message is still on the
# wire), so the reader counts the message and the connection is closed and reconnected.

# Far above any real frame (a 30-level book is about 3 KB; a LIST_SUBSCRIPTIONS reply for every
# market a few hundred KB), far below what would strain a small machine.
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
# One read takes what the kernel holds up to this much; TLS returns at most one record per read.
READ_CHUNK_BYTES = 64 * 1024


class FeedSocket(websocket.WebSocket):
    """A websocket-client socket whose frames are read in chunks, with a message size cap."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        # UTF-8 is checked by the adapter's decode (a bad frame is counted, the connection kept).
        super().__init__(enable_multithread=False, skip_utf8_validation=True)
        self.frames = FrameDecoder(max_frame_bytes)

    def next_message(self) -> tuple[int, bytes]:
        """The next data message or control frame as (opcode, payload). Raises what the socket's
        ``recv`` raises when nothing complete is buffered and it would block, ``FrameProtocolError``
        for a stream that breaks the rules, and ``WebSocketConnectionClosedException`` at its end.
        A ping is answered, a close frame acknowledged, as websocket-client's own reader does."""
        decoder = self.frames
        while True:
            message = decoder.next()
            if message is not None:
                if message[0] == PING:
                    with contextlib.suppress(*WOULD_BLOCK):  # send buffer full: the pong is skipped
                        self.pong(message[1])
                elif message[0] == CLOSE:
                    with contextlib.suppress(Exception):  # the peer may be gone already
                        self.send_close()
                return message
            sock = self.sock
            if sock is None:
                raise websocket.WebSocketConnectionClosedException("socket is already closed.")
            chunk = sock.recv(READ_CHUNK_BYTES)
            if not chunk:
                raise websocket.WebSocketConnectionClosedException("Connection to remote host was lost.")
            decoder.feed(chunk)


def new_socket(max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> FeedSocket:
    return FeedSocket(max_frame_bytes)


def release(ws: Any) -> None:
    """Close a socket that is already lost: no close handshake."""
    with contextlib.suppress(Exception):  # releasing must never fail
        ws.shutdown()


def abort(ws: Any) -> None:
    """Stop a handshake running in another thread: shutdown() wakes a blocked recv, close() does not."""
    sock = getattr(ws, "sock", None)
    if sock is not None:
        with contextlib.suppress(Exception):  # not connected yet, or already closed
            sock.shutdown(socket.SHUT_RDWR)
    release(ws)


def close(ws: Any, timeout_s: float) -> None:
    """Polite close (close frame, wait up to ``timeout_s`` for the reply), then release."""
    with contextlib.suppress(Exception):  # the peer may already be gone
        ws.close(timeout=timeout_s)
    release(ws)


def close_text(data: bytes) -> str:
    """A close frame's status code and reason, for logs."""
    if len(data) >= 2:
        return f"code {int.from_bytes(data[:2], 'big')} {data[2:].decode('utf-8', 'replace')}".strip()
    return "no code"


# --- subscribing -----------------------------------------------------------------------------
# Each subscription request carries a ticket; the last few tickets and their codes are kept so a
# report can show which request is active and what came before it after reconnects.

KEPT_TICKETS = 16


@dataclass(slots=True)
class _Ticket:
    codes: tuple[str, ...]
    data_types: tuple[str, ...]
    sent_us: int
    first_data_by_type_us: dict[str, int] = field(default_factory=dict)


class SubscriptionTickets:
    """Recent subscription requests of one connection, oldest first, at most ``KEPT_TICKETS``,
    each with its codes, data types, the time it was sent and the time data first came under it.

    Records read after a request was sent belong to it: a new request replaces the connection's
    whole subscription, whether it goes out on a new socket or on the open one when the codes
    change (``WebSocketConnector.set_codes``). Noting
    data costs one attribute test per drain once every subscribed data type has arrived, so the
    frame path pays nothing for it. ``version`` changes whenever the report would.
    """

    def __init__(self, now_us: Callable[[], int] = utc_now_us) -> None:
        self._now_us = now_us
        self._tickets: OrderedDict[str, _Ticket] = OrderedDict()
        self._missing: set[str] = set()  # data types of the newest ticket with no record yet
        self.waiting = False  # the newest ticket still misses a data type
        self.version = 0

    def remember(self, ticket: str, codes: tuple[str, ...], data_types: Iterable[str] = ()) -> None:
        types = tuple(data_types)
        self._tickets[ticket] = _Ticket(tuple(codes), types, self._now_us())
        while len(self._tickets) > KEPT_TICKETS:
            self._tickets.popitem(last=False)
        self._missing = set(types)
        self.waiting = bool(types)
        self.version += 1

    def data(self, records: Iterable[MarketDataMessage]) -> None:
        """Records just read: the newest ticket's first record of each data type is timed."""
        missing = self._missing
        if not missing or not self._tickets:
            return
        first = self._tickets[next(reversed(self._tickets))].first_data_by_type_us
        now = 0
        for record in records:
            data_type = record.data_type
            if data_type in missing:
                missing.discard(data_type)
                now = now or self._now_us()
                first[data_type] = now
                if not missing:
                    break
        if now:
            self.waiting = bool(missing)
            self.version += 1

    def codes(self) -> dict[str, tuple[str, ...]]:
        """Ticket -> codes, the active ticket last."""
        return {ticket: t.codes for ticket, t in self._tickets.items()}

    def report(self) -> tuple[TicketReport, ...]:
        return tuple(
            TicketReport(ticket, t.codes, t.data_types, t.sent_us,
                         min(t.first_data_by_type_us.values(), default=0), dict(t.first_data_by_type_us))
            for ticket, t in self._tickets.items()
        )

    def __len__(self) -> int:
        return len(self._tickets)


def open_and_subscribe(
    ws: Any, config: ExchangeConfig, adapter: ExchangeAdapter, codes: tuple[str, ...], tickets: SubscriptionTickets
) -> None:
    """Blocking handshake plus subscription; the socket is left non-blocking."""
    if config.tls_ca_file:  # this CA file replaces the system's trust store
        ws.sock_opt.sslopt["ca_certs"] = config.tls_ca_file
    # No Origin header: Upbit throttles handshakes that carry one to 1 per 10 s.
    ws.connect(config.ws_url, timeout=config.connect_timeout_s, suppress_origin=True)
    request = adapter.subscription_request(
        codes, config.data_types, fmt=config.format, depth=config.orderbook_depth
    )
    ws.send(request.text)
    ws.settimeout(0)
    tickets.remember(request.ticket, request.codes, config.data_types)


# --- the state log ---------------------------------------------------------------------------

StateListener = Callable[[S, S, str, int], None]
Transition = tuple[S, S, str, int]


class StateLog:
    """The connection state with its listener: transitions are checked, then reported in order.

    Transitions are recorded while the connector holds its lock and delivered by ``flush()`` after
    it let go. Delivery is never re-entrant: a listener that calls back into the connector (say,
    ``disconnect()`` on FAILED) only queues more events, which the running ``flush()`` delivers
    next. So handling a disconnection can never recurse, however many follow in a row.
    """

    def __init__(self, listener: StateListener | None, initial: S = S.DISCONNECTED):
        self.state = initial
        self.listener = listener
        self.history: deque[Transition] = deque(maxlen=256)
        self._pending: deque[Transition] = deque()
        self._guard = threading.Lock()
        self._delivering = False

    def move(self, new: S, reason: str, attempt: int = 0) -> None:
        """Change state now (raises ``InvalidTransition`` for a move the state machine forbids)."""
        old = self.state
        check_transition(old, new)
        self.state = new
        event = (old, new, reason, attempt)
        self.history.append(event)
        self._pending.append(event)

    def flush(self) -> None:
        """Deliver queued transitions to the listener, oldest first."""
        while self._pending:
            with self._guard:
                if self._delivering:
                    return
                self._delivering = True
            try:
                while self._pending:
                    event = self._pending.popleft()
                    if self.listener is not None:
                        self.listener(*event)
            finally:
                with self._guard:
                    self._delivering = False


# --- reading ---------------------------------------------------------------------------------
# ``read_frames`` stops only when the socket would block, the connection is lost, or
# ``max_frames`` were read (the TLS buffer, see the module's docstring). Any frame at all counts as
# a sign of life; control frames carry no records.

WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


@dataclass(frozen=True, slots=True)
class DrainResult:
    records: tuple[MarketDataMessage, ...]
    frames: int
    more: bool  # stopped at max_frames: data may still wait (possibly inside TLS), read again
    lost: str  # why the connection was lost during this drain, or ""


def read_frames(
    ws: Any,
    max_frames: int,
    pipeline: FramePipeline,
    liveness: Liveness,
    backoff: Backoff,
    clock: Callable[[], float],
    now_us: Callable[[], int],
) -> tuple[list[MarketDataMessage], int, str]:
    """(records, frames read, why the connection was lost or "")."""
    records: list[MarketDataMessage] = []
    frames = 0
    lost = ""
    while frames < max_frames:
        try:
            opcode, data = ws.next_message()
        except WOULD_BLOCK:
            break
        except FrameProtocolError as err:  # counted; the stream cannot be framed again: reconnect
            frames += 1
            reason = OVERSIZED if isinstance(err, MessageTooLarge) else BAD_FRAMING
            pipeline.unframeable(reason, str(err), now_us())
            lost = f"connection closed: {err}"
            break
        except (websocket.WebSocketException, OSError, ValueError) as err:
            lost = f"connection lost: {type(err).__name__}: {err}"
            break
        frames += 1
        now = clock()
        liveness.alive(now)
        if opcode == CLOSE:
            lost = f"close frame from the server: {close_text(data)}"
            break
        if opcode in (PING, PONG):
            continue
        outcome = pipeline.process(data, now_us())
        if outcome.kind == FrameKind.ERROR.value:
            lost = f"error frame: {outcome.detail}"
            break
        if outcome.kind != MALFORMED:
            backoff.still_connected(now)
        records.extend(outcome.records)
    if records:
        backoff.streamed()
    for line in pipeline.notices.take():
        _LOG.warning(line)
    return records, frames, lost


def ping_or_stall(ws: Any, liveness: Liveness, now: float) -> str:
    """Send a due ping, or tell why the connection counts as dead ("" while it is healthy)."""
    reason = liveness.stall_reason(now)
    if not reason and liveness.ping_due(now):
        try:
            ws.ping()
            liveness.pinged(now)
        except WOULD_BLOCK:
            pass  # send buffer full: the next tick tries again
        except (websocket.WebSocketException, OSError) as err:
            reason = f"ping failed: {type(err).__name__}: {err}"
    return reason


# --- the connection --------------------------------------------------------------------------

# Upper bound of one wait of the plain stream, so a disconnect() from another thread is noticed promptly.
_MAX_WAIT_S = 0.5


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
        self.codes = tuple(config.markets)
        self.pipeline = FramePipeline(adapter, self.codes, encode)
        self.backoff = backoff or Backoff.from_config(config)
        self.liveness = Liveness(config.ping_interval_s, config.pong_timeout_s, config.stale_timeout_s)
        self.tickets = SubscriptionTickets(now_us)
        caps = CAPABILITIES[config.name]
        self.subscribe_pacer = SubscribePacer(caps.requests_per_s, caps.requests_per_min)
        self.resubscribe_pending = False  # new codes wait for the request limits of the open socket
        self.next_retry_s: float | None = None
        self.reconnects = 0
        self.last_reason = ""
        self._ws_factory: Callable[[], Any] = ws_factory or functools.partial(new_socket, config.max_frame_bytes)
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

    def sync_metrics(self) -> None:
        """Bring the Prometheus counters up to the pipeline's. The owner calls it a few times a
        second (the connector actor's stats timer), not per read: each counter written is a
        multiprocess metric write, and a read carries a few frames."""
        self.metrics.sync(self.pipeline.counters, self.reconnects)

    def _on_transition(self, old: S, new: S, reason: str, attempt: int) -> None:
        self.metrics.state(new)
        self.metrics.sync(self.pipeline.counters, self.reconnects)
        if self._listener is not None:
            self._listener(old, new, reason, attempt)

    # --- reports -----------------------------------------------------------------------------
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

    def last_data_us(self) -> int:
        """When the last record was read on this connection (UTC microseconds), 0 before any."""
        return max(self.pipeline.counters.last_message_us.values(), default=0)

    def subscription_report(self) -> dict[str, tuple[str, ...]]:
        """Ticket -> codes of recent subscription requests, the active one last."""
        return self.tickets.codes()

    def ticket_report(self) -> tuple[TicketReport, ...]:
        """The same tickets with their data types, send time and first-data times."""
        return self.tickets.report()

    # --- connecting, losing, closing ---------------------------------------------------------
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
            open_and_subscribe(ws, self.config, self.adapter, self.codes, self.tickets)
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
            self.subscribe_pacer.reset()
            self.subscribe_pacer.sent(now)  # the opening subscription counts against the limits
            self.resubscribe_pending = False  # it carried the current codes
            self.backoff.connected(now)
            self.next_retry_s = None
            if self._was_connected:
                self.reconnects += 1
            self._was_connected = True
            self._log.move(S.CONNECTED, "subscribed", self.backoff.attempts)
        self._log.flush()

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

    # --- changing the codes ------------------------------------------------------------------
    def set_codes(self, codes: Iterable[str]) -> float:
        """Follow exactly ``codes`` from now on (the market list changed).

        Records of a dropped code are refused from now on (counted as unsubscribed until the
        exchange applies the new request). On an open socket the complete new list is sent as one
        request, as soon as the request limits allow: returns 0 when sent (or when there is no open
        socket, the next connect subscribing to the new list), else the seconds after which
        ``resubscribe()`` should be called.
        """
        self.codes = tuple(dict.fromkeys(codes))
        self.pipeline.set_codes(self.codes)
        self.resubscribe_pending = True
        return self.resubscribe()

    def resubscribe(self) -> float:
        """Send the pending code list on the open socket if the limits allow (see ``set_codes``)."""
        ws = self._ws
        if not self.resubscribe_pending or ws is None or self.state is not S.CONNECTED:
            return 0.0
        now = self._clock()
        wait = self.subscribe_pacer.wait_s(now)
        if wait > 0:
            return wait
        request = self.adapter.subscription_request(
            self.codes, self.config.data_types, fmt=self.config.format, depth=self.config.orderbook_depth)
        try:
            ws.send(request.text)
        except (*WOULD_BLOCK, websocket.WebSocketException, OSError) as err:
            # Part of the request may be on the wire: only a new socket is sure to carry the new list.
            self._lose(f"resubscribe failed: {type(err).__name__}: {err}")
            self._log.flush()
            return 0.0
        self.subscribe_pacer.sent(now)
        self.resubscribe_pending = False
        self.tickets.remember(request.ticket, request.codes, self.config.data_types)
        return 0.0

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

    # --- the plain stream --------------------------------------------------------------------
    def stream_market_data(self, max_frames: int = 500) -> Generator[MarketDataMessage, None, None]:
        """Yield records until ``disconnect()``; reconnects on its own.

        Raises RuntimeError before ``connect()``, and ConnectionFailedException once the retry
        budget is spent. A generator rather than a queue: nothing accumulates between reads.
        """
        if self.state in (S.DISCONNECTED, S.FAILED):
            raise RuntimeError(f"stream_market_data() needs connect() first (state {self.state.value})")
        return self._stream(max_frames)

    def _stream(self, max_frames: int) -> Generator[MarketDataMessage, None, None]:
        """The steps the actor runs on messages: drain when readable, tick for pings and stalls,
        sleep out the backoff and reconnect. A loop, not recursion, so any number of drops in a row
        costs no stack."""
        try:
            while True:
                state = self.state
                if state is S.CONNECTED:
                    result = self.drain(max_frames)
                    if result.frames:
                        self.sync_metrics()
                    yield from result.records
                    if result.lost or result.more or self.tick():
                        continue
                    self._wait_readable(self.next_tick_in())
                elif state is S.RECONNECTING:
                    if self._wake.wait(self.next_retry_s or 0.0):  # disconnect() interrupted the backoff
                        return
                    try:
                        self.connect()
                    except ConnectionFailedException:
                        raise
                    except ConnectionException:
                        continue  # RECONNECTING again with a longer delay
                elif state is S.FAILED:
                    raise ConnectionFailedException(
                        "reconnect budget spent", exchange=self.config.name,
                        connection=self.connection_id, last_error=self.last_reason,
                    )
                else:  # DISCONNECTED: disconnect() was called
                    return
        finally:
            # Leaving the loop early (consumer closed the generator, or an error) releases the socket.
            if self.state is not S.FAILED:
                self.disconnect("stream ended")

    def _wait_readable(self, timeout: float) -> None:
        """Block until the socket is readable, ``timeout`` passed, or ``disconnect()`` was called.

        ``select`` is safe here only because ``drain()`` always empties the TLS buffer first.
        """
        fd = self.fileno()
        if fd is None or self._wake.is_set():
            return
        selector = selectors.DefaultSelector()
        try:
            selector.register(fd, selectors.EVENT_READ)
            selector.select(min(max(timeout, 0.0), _MAX_WAIT_S))
        except (OSError, ValueError):
            pass  # closed by another thread meanwhile: the caller rereads the state
        finally:
            selector.close()
