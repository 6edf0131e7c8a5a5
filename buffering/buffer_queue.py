"""The bounded, TTL-aware queue between connectors and producers.

Pure: no clock, no I/O. Every time is an integer count of microseconds since the Unix epoch, UTC,
passed in by the caller as ``now_us`` and compared with ``MarketDataMessage.received_time_us``.

Rules
-----
* **Ordering.** One arrival-ordered line per data type, so records of one (exchange, data type,
  code) leave in the order they came (FIFO per code, which Kafka's per-key order then keeps).
  ``dequeue_batch`` without a data type serves orderbooks before trades.
* **TTL.** A record whose age (``now_us - received_time_us``) exceeds its data type's TTL when
  its turn comes is dropped as ``expired``. ``expire(now_us)`` drops stale records at the head
  of each line without waiting for a pull, and a full queue does the same before anything else.
  ``ttl_for_delivery`` gives the TTLs to use: a trade the Kafka client could still deliver is
  not expired here (see there).
* **Capacity.** At most ``capacity`` records are queued. When a record arrives at a full queue
  (after stale heads are expired), exactly one record is dropped, chosen in this order:
    1. an orderbook that a newer one of the same exchange and code replaces, reason
       ``superseded``: for an incoming orderbook the oldest queued book of its code, for an
       incoming trade the oldest queued book if its code has a newer one queued (both exchanges
       send full snapshots, so the newer book carries everything the older one did: nothing is
       lost);
    2. the oldest record of the type the capacity does not keep, reason ``overflow``, whichever
       type arrives. By default the capacity keeps orderbooks (orderbook before trade), so the
       oldest trade goes, the one closest to expiring. Under at-least-once delivery
       (``keep_at_capacity_for``) it keeps trades: a lost trade is gone for good, while the next
       snapshot of a book replaces a dropped one;
    3. otherwise (only the kept type is queued) an incoming record of the kept type replaces the
       oldest of its type, and an incoming record of the other type is itself dropped, reason
       ``overflow``.
  The producers pull each data type on its own credit, so the capacity is where the two types
  compete for the buffer.
* **Duplicates.** A trade with a non-zero ``sequential_id`` already seen for its exchange and code
  (among the last ``dedupe_window`` ones) is dropped, reason ``duplicate``. Each connector
  dedupes its own stream and backfill; this catches what crosses a connector's life: a restarted
  connector starts with an empty memory, and its first subscription's SNAPSHOT repeats the latest
  trade of every code, which its predecessor may have sent. That repeat is the newest id, so a
  short window is enough.
* **Unknown data types** are dropped, reason ``invalid``.

Every drop is counted by (reason, data type) and by (exchange, data type, reason).
All operations are O(1) amortised: superseded orderbooks are marked dead in their line and
skipped when reached; the line is compacted when dead entries outnumber live ones.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from buffering.drop_counts import DropCounts
from domain.market_data import MarketDataMessage
from domain.records import DataType
from domain.trade_dedupe import TradeDedupe

ORDERBOOK = DataType.ORDERBOOK.value
TRADE = DataType.TRADE.value
PRIORITY: tuple[str, ...] = (ORDERBOOK, TRADE)
DEFAULT_TTL_S = 1.0
_COMPACT_MIN_DEAD = 64
DEDUPE_WINDOW = 64  # ids remembered per code across connector restarts


def keep_at_capacity_for(client_retries_for_s: float | None) -> str:
    """The data type a full buffer keeps: trades when the Kafka client retries (at-least-once
    delivery, chosen because every trade must arrive), else orderbooks (orderbook before trade)."""
    return TRADE if client_retries_for_s is not None else ORDERBOOK


def ttl_for_delivery(ttl_s: Mapping[str, float], client_retries_for_s: float | None) -> dict[str, float]:
    """The TTL per data type that the buffer applies, given the configured ``ttl_s`` and how long
    the Kafka client keeps retrying a record it was handed (``client_retries_for_s``; None when it
    never resends, as under at-most-once delivery).

    When the client retries, a trade is kept here at least as long as the client would keep trying
    to deliver it: a broker restart that the client outlasts must not cost the trades that waited
    for credit meanwhile, since a lost trade is gone for good. Orderbooks keep their configured TTL:
    both exchanges send full snapshots, so the next book replaces a stale one, and freshness is what
    a book is for. Memory stays bounded by the capacity, whose drops are counted like any other.
    """
    ttl = {dt: float(ttl_s.get(dt, DEFAULT_TTL_S)) for dt in PRIORITY}
    if client_retries_for_s is not None:
        ttl[TRADE] = max(ttl[TRADE], client_retries_for_s)
    return ttl


class _Entry:
    __slots__ = ("record", "dead")

    def __init__(self, record: MarketDataMessage) -> None:
        self.record = record
        self.dead = False


class BufferQueue:
    def __init__(
        self, capacity: int, ttl_s: Mapping[str, float] | None = None, dedupe_window: int = DEDUPE_WINDOW,
        keep_at_capacity: str = ORDERBOOK,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        if keep_at_capacity not in PRIORITY:
            raise ValueError(f"keep_at_capacity must be one of {PRIORITY}, got {keep_at_capacity!r}")
        ttl = dict(ttl_s or {})
        self.capacity = capacity
        self.kept_at_capacity = keep_at_capacity
        self._given_up_at_capacity = TRADE if keep_at_capacity == ORDERBOOK else ORDERBOOK
        self._ttl_us = {dt: int(round(ttl.get(dt, DEFAULT_TTL_S) * 1_000_000)) for dt in PRIORITY}
        self._lines: dict[str, deque[_Entry]] = {dt: deque() for dt in PRIORITY}
        self._live: dict[str, int] = dict.fromkeys(PRIORITY, 0)
        self._dead: dict[str, int] = dict.fromkeys(PRIORITY, 0)
        # live orderbook entries per (exchange, code), oldest first: finds the one to supersede
        self._books: dict[tuple[str, str], deque[_Entry]] = {}
        self._dedupe_window = dedupe_window
        self._dedupe: dict[str, TradeDedupe] = {}  # per exchange
        self._size = 0
        self.enqueued = 0
        self.dequeued = 0
        self.drops = DropCounts()
        self.dropped = self.drops.by_reason  # (reason, data_type) -> count
        self.dropped_by_exchange = self.drops.by_exchange  # (exchange, data_type, reason) -> count

    # --- inspection -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._size

    def depth(self) -> dict[str, int]:
        return dict(self._live)

    def ttl_us(self, data_type: str) -> int:
        return self._ttl_us[data_type]

    def total_dropped(self) -> int:
        return self.drops.total()

    # --- input ----------------------------------------------------------------------------
    def enqueue(self, record: MarketDataMessage, now_us: int) -> bool:
        """Queue one record; False when it was dropped (the drop is counted)."""
        dt = record.data_type
        if dt not in self._lines:
            self.drops.count("invalid", record)
            return False
        if dt == TRADE and record.sequential_id and self._is_duplicate(record):
            self.drops.count("duplicate", record)
            return False
        if self._size >= self.capacity and not self._make_room(record, now_us):
            self.drops.count("overflow", record)
            return False
        entry = _Entry(record)
        self._lines[dt].append(entry)
        if dt == ORDERBOOK:
            key = (record.exchange, record.code)
            books = self._books.get(key)
            if books is None:
                books = self._books[key] = deque()
            books.append(entry)
        self._live[dt] += 1
        self._size += 1
        self.enqueued += 1
        return True

    def enqueue_many(self, records: Iterable[MarketDataMessage], now_us: int) -> int:
        return sum(1 for record in records if self.enqueue(record, now_us))

    # --- output ---------------------------------------------------------------------------
    def dequeue_batch(
        self, n: int, now_us: int, data_type: str | None = None, ignore_ttl: bool = False
    ) -> list[MarketDataMessage]:
        """At most ``n`` fresh records, orderbooks first unless ``data_type`` picks one line.

        Expired records met on the way are dropped and do not count towards ``n``.
        ``ignore_ttl`` hands out stale records too (used when draining at shutdown).
        """
        out: list[MarketDataMessage] = []
        for dt in PRIORITY if data_type is None else (data_type,):
            line = self._lines.get(dt)
            if line is None:
                continue
            ttl = self._ttl_us[dt]
            while line and len(out) < n:
                entry = self._take_head(dt, line)
                if entry is None:
                    continue
                record = entry.record
                if not ignore_ttl and now_us - record.received_time_us > ttl:
                    self.drops.count("expired", record)
                    continue
                out.append(record)
        self.dequeued += len(out)
        return out

    def expire(self, now_us: int) -> int:
        """Drop stale records at the head of each line; returns how many went."""
        gone = 0
        for dt, line in self._lines.items():
            ttl = self._ttl_us[dt]
            while line:
                head = line[0]
                if head.dead:
                    line.popleft()
                    self._dead[dt] -= 1
                    continue
                if now_us - head.record.received_time_us <= ttl:
                    break
                self._take_head(dt, line)
                self.drops.count("expired", head.record)
                gone += 1
        return gone

    # --- internals ------------------------------------------------------------------------
    def _take_head(self, dt: str, line: deque[_Entry]) -> _Entry | None:
        """Pop the head of a line; None for a dead (superseded) entry."""
        entry = line.popleft()
        if entry.dead:
            self._dead[dt] -= 1
            return None
        if dt == ORDERBOOK:
            # FIFO per code: the oldest live orderbook overall is also its code's oldest
            self._books[(entry.record.exchange, entry.record.code)].popleft()
        self._live[dt] -= 1
        self._size -= 1
        return entry

    def _make_room(self, incoming: MarketDataMessage, now_us: int) -> bool:
        if self.expire(now_us) > 0 or self._supersede(incoming):
            return True
        if self._drop_oldest(self._given_up_at_capacity):
            return True
        kept = self.kept_at_capacity
        return incoming.data_type == kept and self._drop_oldest(kept)

    def _supersede(self, incoming: MarketDataMessage) -> bool:
        """Drops a queued orderbook that a newer one of its code replaces (rule 1)."""
        if incoming.data_type == ORDERBOOK:
            books = self._books.get((incoming.exchange, incoming.code))
            if not books:
                return False
            oldest = books.popleft()
            oldest.dead = True
            self._dead[ORDERBOOK] += 1
            self._live[ORDERBOOK] -= 1
            self._size -= 1
            self.drops.count("superseded", oldest.record)
            self._compact_if_needed(ORDERBOOK)
            return True
        line = self._lines[ORDERBOOK]
        while line and line[0].dead:
            line.popleft()
            self._dead[ORDERBOOK] -= 1
        if not line or len(self._books[(line[0].record.exchange, line[0].record.code)]) < 2:
            return False
        entry = self._take_head(ORDERBOOK, line)
        if entry is not None:
            self.drops.count("superseded", entry.record)
        return True

    def _drop_oldest(self, dt: str) -> bool:
        line = self._lines[dt]
        while line:
            entry = self._take_head(dt, line)
            if entry is not None:
                self.drops.count("overflow", entry.record)
                return True
        return False

    def _compact_if_needed(self, dt: str) -> None:
        dead = self._dead[dt]
        if dead >= _COMPACT_MIN_DEAD and dead > self._live[dt]:
            self._lines[dt] = deque(e for e in self._lines[dt] if not e.dead)
            self._dead[dt] = 0

    def _is_duplicate(self, record: MarketDataMessage) -> bool:
        dedupe = self._dedupe.get(record.exchange)
        if dedupe is None:
            dedupe = self._dedupe[record.exchange] = TradeDedupe(self._dedupe_window)
        return dedupe.is_duplicate(record.code, record.sequential_id)
