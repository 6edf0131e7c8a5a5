"""Load mode: frames rendered ahead and written in large chunks, so one process can offer tens of
thousands of frames per second.

Normal mode renders every event when it happens and frames every message through the WebSocket
library, which caps one process at about 10,000 mixed frames per second. Load mode instead renders,
per subscribed code, a pool of frames in advance by running that market's generator ahead
(``pool_size`` trades and as many book changes, for every (format, depth) some connection asked
for). Each event takes the next frame of its code's pool, fills in only the values that must change
(``timestamp`` = the send time, and for trades ``trade_date``, ``trade_time``, ``trade_timestamp``
and a fresh ``sequential_id``), adds the WebSocket header itself and appends the frame to its
connection's chunk; each connection gets one socket write per feed tick.

What stays as in normal mode: the subscription handshake and snapshots (queued snapshots are
written first, in order), binary UTF-8 JSON frames, the venues' key orders and number spellings,
unique and derivable trade ids, the sent log (counted when a frame is handed to the socket), stalls
and garbage injection. What differs: prices and sizes repeat with the pool's period; realtime
trades stay out of the market's history (a trade snapshot shows the last trade rendered ahead); and a
connection whose socket buffer holds more than ``LOAD_WRITE_LIMIT`` bytes has its realtime frames
shed (counted, never written, not in the sent log) instead of queued.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from websockets.protocol import State

from simulator.faults import garbage_frame
from simulator.render import Template, TradeParts, clock_strings

if TYPE_CHECKING:
    from simulator.session import Session
    from simulator.venue import Venue

LOAD_WRITE_LIMIT = 8 << 20  # bytes waiting in one connection's socket buffer beyond which frames are shed
OPCODE_TEXT, OPCODE_BINARY = 0x1, 0x2


def frame_header(length: int, opcode: int = OPCODE_BINARY) -> bytes:
    """The header of an unmasked, unfragmented server-to-client WebSocket frame (RFC 6455 §5.2)."""
    first = 0x80 | opcode  # FIN + opcode
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


def ws_frame(payload: bytes, opcode: int = OPCODE_BINARY) -> bytes:
    return frame_header(len(payload), opcode) + payload


class CodePool:
    """The frames rendered ahead for one code: trades as parts, books as templates per (format, depth).

    Index i of every format is the same trade (or the same book state), so connections that share a
    code but not a format still see one market.
    """

    def __init__(self) -> None:
        self.trades: dict[str, list[tuple[TradeParts, int]]] = {}  # format -> (parts, fixed length)
        self.books: dict[tuple[str, int], list[Template]] = {}  # (format, depth) -> templates
        self.next_trade = 0
        self.next_book = 0


class LoadFeed:
    """The load-mode producer of one venue (see the module text)."""

    def __init__(self, venue: Venue, pool_size: int) -> None:
        if pool_size < 1:
            raise ValueError(f"load pool size must be at least 1, got {pool_size}")
        self.venue = venue
        self.pool_size = pool_size
        self.pools: dict[str, CodePool] = {}
        self._clock_second = -1
        self._clock: tuple[bytes, bytes] = (b"", b"")

    # ---- pools ---------------------------------------------------------------
    def prepare(self) -> None:
        """Render ahead whatever the current subscriptions need and the pools lack."""
        venue = self.venue
        for code, sessions in venue.subscribers.get("trade", {}).items():
            formats = {s.subscription.format for s in sessions if s.subscription is not None}
            pool = self.pools.setdefault(code, CodePool())
            if not formats <= pool.trades.keys():
                self._render_trades(code, pool, formats | pool.trades.keys())
        for code, depths in venue.subscribers.get("orderbook", {}).items():
            keys = {(s.subscription.format, d) for s, d in depths.items() if s.subscription is not None}
            pool = self.pools.setdefault(code, CodePool())
            if not keys <= pool.books.keys():
                self._render_books(code, pool, keys | pool.books.keys())

    def _render_trades(self, code: str, pool: CodePool, formats: set[str]) -> None:
        gen, renderer = self.venue.generators[code], self.venue.renderer
        now = int(time.time() * 1000)
        trades = [gen.trade(now) for _ in range(self.pool_size)]
        pool.trades = {}
        for fmt in formats:
            rendered = [renderer.trade_parts(t, fmt, "REALTIME") for t in trades]
            pool.trades[fmt] = [(parts, sum(map(len, parts))) for parts in rendered]

    def _render_books(self, code: str, pool: CodePool, keys: set[tuple[str, int]]) -> None:
        gen, renderer = self.venue.generators[code], self.venue.renderer
        pool.books = {key: [] for key in keys}
        for _ in range(self.pool_size):
            gen.book_update()
            for (fmt, depth), templates in pool.books.items():
                templates.append(renderer.orderbook(gen, fmt, depth, "REALTIME"))

    def _clock_text(self, ms: int) -> tuple[bytes, bytes]:
        second = ms // 1000
        if second != self._clock_second:
            date, clock = clock_strings(ms, self.venue.profile.trade_clock_offset_hours)
            self._clock_second, self._clock = second, (date.encode(), clock.encode())
        return self._clock

    # ---- producing -----------------------------------------------------------
    def produce(self, count: int) -> None:
        """`count` events round-robin over the subscribed codes, written as one chunk per connection."""
        venue = self.venue
        codes = venue.active_codes
        if not codes:
            return
        now = time.time()
        ms = int(now * 1000)
        stamp_ms = str(ms).encode()
        stamp_book = str(int(now * 1_000_000)).encode() if venue.profile.orderbook_timestamp_micros else stamp_ms
        date, clock = self._clock_text(ms)
        trade_subs = venue.subscribers.get("trade", {})
        book_subs = venue.subscribers.get("orderbook", {})
        ticker_subs = venue.subscribers.get("ticker", {})
        ratio, rng, pools, size = venue.options.trade_ratio, venue.rng, self.pools, self.pool_size
        chunks: dict[Session, list[bytes]] = {}
        blocked: set[Session] = set()
        start = venue.events_produced
        for i in range(count):
            code = codes[(start + i) % len(codes)]
            pool = pools.get(code)
            if rng.random() < ratio:
                subs = trade_subs.get(code)
                if subs and pool is not None:
                    index = pool.next_trade
                    pool.next_trade = (index + 1) % size
                    ttms, sid = venue.generators[code].next_trade_id(ms)
                    ttms_text = stamp_ms if ttms == ms else str(ttms).encode()
                    sid_text = str(sid).encode()
                    variable = len(stamp_ms) + len(date) + len(clock) + len(ttms_text) + len(sid_text)
                    for session in subs:
                        out = chunks.get(session)
                        if out is None:
                            out = self._open(session, chunks, blocked)
                            if out is None:
                                session.frames_shed += 1
                                continue
                        parts, fixed = pool.trades[session.subscription.format][index]  # type: ignore[union-attr]
                        out += (frame_header(fixed + variable), parts[0], stamp_ms, parts[1], date, parts[2], clock,
                                parts[3], ttms_text, parts[4], sid_text, parts[5])
                        session.sent_trades[code].append(sid)
                        session.frames_sent += 1
                        if session.garbage_pending:
                            self._garbage(session, out)
                if ticker_subs.get(code):
                    self._tickers(code, ticker_subs[code], chunks, blocked, stamp_ms)
            else:
                subs_depth = book_subs.get(code)
                if subs_depth and pool is not None:
                    index = pool.next_book
                    pool.next_book = (index + 1) % size
                    for session, depth in subs_depth.items():
                        out = chunks.get(session)
                        if out is None:
                            out = self._open(session, chunks, blocked)
                            if out is None:
                                session.frames_shed += 1
                                continue
                        head, tail = pool.books[(session.subscription.format, depth)][index]  # type: ignore[union-attr]
                        out += (frame_header(len(head) + len(stamp_book) + len(tail)), head, stamp_book, tail)
                        session.sent_orderbooks[code] += 1
                        session.frames_sent += 1
                        if session.garbage_pending:
                            self._garbage(session, out)
        venue.events_produced += count
        for session, out in chunks.items():
            if out:
                session.ws.transport.write(b"".join(out))
                session.last_sent = time.monotonic()

    def _open(self, session: Session, chunks: dict[Session, list[bytes]], blocked: set[Session]) -> list[bytes] | None:
        """The session's chunk for this tick, starting with its queued frames (snapshots, answers);
        None while it cannot take more (closing, or too far behind)."""
        if session in blocked:
            return None
        transport = session.ws.transport
        if session.ws.protocol.state is not State.OPEN or transport.is_closing() \
                or transport.get_write_buffer_size() > LOAD_WRITE_LIMIT:
            blocked.add(session)
            return None
        out = session.frame_queued(len(session.outbox)) if session.outbox else []
        chunks[session] = out
        return out

    def _tickers(self, code: str, sessions: dict[Session, int], chunks: dict[Session, list[bytes]],
                 blocked: set[Session], stamp: bytes) -> None:
        gen, renderer = self.venue.generators[code], self.venue.renderer
        for session in sessions:
            out = chunks.get(session)
            if out is None:
                out = self._open(session, chunks, blocked)
            if out is None:
                continue
            head, tail = renderer.ticker(gen, session.subscription.format, "REALTIME")  # type: ignore[union-attr]
            out.append(ws_frame(head + stamp + tail))
            session.frames_sent += 1

    @staticmethod
    def _garbage(session: Session, out: list[bytes]) -> None:
        session.garbage_pending -= 1
        garbage = garbage_frame(session.garbage_kind)
        if isinstance(garbage, str):
            out.append(ws_frame(garbage.encode(), OPCODE_TEXT))
        else:
            out.append(ws_frame(garbage))
