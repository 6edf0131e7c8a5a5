"""From one WebSocket frame to the records krwfeed forwards. Pure: no sockets, no clocks.

The adapter turns bytes into a ``DecodedFrame``; this module then drops what must not go on and
counts every drop by reason: malformed frames (the connection is kept),
frames of types krwfeed does not carry, records for codes this connection did not subscribe,
records that fail ``validate_record`` (reason ``invalid``), and trades already seen (the SNAPSHOT
trade repeated after a resubscribe). What is left is serialised once, here, so the actors pass
small byte payloads around.

Whatever goes wrong while one frame is handled (a refusal, or any exception at all, such as a
RecursionError from absurd nesting) costs that frame and nothing else: it is counted as malformed
and ``process`` returns normally, so frames read before and after it in the same drain survive.
Refusals are also noted for the log, at most one line per kind every ``log_interval_us`` of frame
time (with the number left out since); the caller writes out ``notices.take()``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from domain.exceptions import ValidationException
from domain.market_data import SOURCE_REST, MarketDataMessage, validate_record
from domain.records import DataType, MarketRecord, TradeRecord
from domain.slot_init import slot_init
from domain.trade_dedupe import TradeDedupe
from exchanges.base import DecodedFrame, ExchangeAdapter, FrameKind

Encoder = Callable[[MarketRecord], MarketDataMessage]


@dataclass(slots=True)
class FrameCounters:
    """Cumulative counts for one connection. ``dropped`` is keyed by (data_type, reason)."""

    frames: int = 0
    received: int = 0  # records forwarded
    malformed: int = 0
    invalid: int = 0  # records refused by validate_record
    duplicates: int = 0
    unsubscribed: int = 0
    ignored_types: int = 0
    status_frames: int = 0
    error_frames: int = 0
    received_by_type: dict[str, int] = field(default_factory=dict)
    dropped: dict[tuple[str, str], int] = field(default_factory=dict)
    last_message_us: dict[str, int] = field(default_factory=dict)  # per code

    def drop(self, data_type: str, reason: str) -> None:
        key = (data_type, reason)
        self.dropped[key] = self.dropped.get(key, 0) + 1


@slot_init
@dataclass(frozen=True, slots=True)
class FrameOutcome:
    kind: str  # a FrameKind value, or "malformed"
    records: tuple[MarketDataMessage, ...] = ()
    detail: str = ""  # error name/message or the reason a frame was malformed


MALFORMED = "malformed"
INVALID = "invalid"  # the drop reason of a record that fails validation
OVERSIZED = "oversized"  # the drop reason of a message larger than the socket's cap
BAD_FRAMING = "bad_framing"  # the drop reason of a frame the WebSocket rules forbid a server to send
LOG_INTERVAL_US = 10_000_000
_TRADE, _ORDERBOOK = DataType.TRADE.value, DataType.ORDERBOOK.value
# Read once: each read of an Enum member or its value is a Python-level lookup on CPython 3.11.
_DATA, _DATA_VALUE = FrameKind.DATA, FrameKind.DATA.value


class Notices:
    """Rate-limited log lines, per kind: the first refusal of a kind is noted at once, later ones at
    most once per ``interval_us`` (of the times given), each saying how many were left out before it.
    Pure: the caller logs what ``take`` returns."""

    MAX_PENDING = 16

    def __init__(self, interval_us: int = LOG_INTERVAL_US) -> None:
        self.interval_us = interval_us
        self._last: dict[str, int] = {}
        self._skipped: dict[str, int] = {}
        self._pending: list[str] = []

    def note(self, kind: str, now_us: int, text: str) -> None:
        last = self._last.get(kind)
        if last is not None and now_us - last < self.interval_us or len(self._pending) >= self.MAX_PENDING:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        skipped = self._skipped.pop(kind, 0)
        self._last[kind] = now_us
        self._pending.append(text + (f" ({skipped} more {kind} since the last such line)" if skipped else ""))

    def take(self) -> list[str]:
        pending, self._pending = self._pending, []
        return pending


def default_encoder() -> Encoder:
    # Imported on first use so the pure parts stay importable without generated Protobuf code.
    from proto.serializer import encode_record

    encoder: Encoder = encode_record
    return encoder


class FramePipeline:
    def __init__(
        self,
        adapter: ExchangeAdapter,
        codes: Iterable[str],
        encode: Encoder | None = None,
        dedupe: TradeDedupe | None = None,
    ) -> None:
        self.adapter = adapter
        self.exchange = adapter.name
        self.encode = encode or default_encoder()
        self.dedupe = dedupe or TradeDedupe()
        self.counters = FrameCounters()
        self.notices = Notices()
        # code -> (trade time, id) of the latest trade admitted, by trade time (ids are not ordered):
        # where the REST backfill starts after a drop.
        self.last_trades: dict[str, tuple[int, int]] = {}
        self.codes: frozenset[str] = frozenset()
        self.quote_currencies: tuple[str, ...] = ()
        self.set_codes(codes)

    def set_codes(self, codes: Iterable[str]) -> None:
        self.codes = frozenset(c.upper() for c in codes)
        # Records must name a subscribed code anyway; validation accepts the quotes those codes use.
        self.quote_currencies = tuple(sorted({code.split("-", 1)[0] for code in self.codes}))
        self.dedupe.forget_codes_except(self.codes)
        # A market no longer carried has nothing to backfill; relisted later, it starts afresh.
        self.last_trades = {code: last for code, last in self.last_trades.items() if code in self.codes}

    def process(self, frame: bytes | str, received_time_us: int) -> FrameOutcome:
        """Decode one frame and filter its records. Never raises for bad input."""
        self.counters.frames += 1
        try:
            return self.process_decoded(self.adapter.decode(frame, received_time_us), received_time_us)
        except ValidationException as err:
            return self._malformed(err.message, received_time_us)
        except Exception as err:  # noqa: BLE001 - any failure costs this frame only, counted
            return self._malformed(f"{type(err).__name__}: {err}"[:200], received_time_us)

    def unframeable(self, reason: str, detail: str, now_us: int) -> FrameOutcome:
        """A frame refused before its payload was decoded (``OVERSIZED``, ``BAD_FRAMING``): a
        malformed frame, dropped with that reason (its data type is unknown)."""
        self.counters.frames += 1
        self.counters.drop("other", reason)
        return self._malformed(detail, now_us)

    def _malformed(self, detail: str, now_us: int) -> FrameOutcome:
        self.counters.malformed += 1
        self.notices.note(MALFORMED, now_us, f"{self.exchange}: malformed frame: {detail}")
        return FrameOutcome(MALFORMED, detail=detail)

    def process_decoded(self, decoded: DecodedFrame, received_time_us: int = 0) -> FrameOutcome:
        kind = decoded.kind
        if kind is not _DATA:  # data frames, nearly all of them, go straight on
            counters = self.counters
            if kind is FrameKind.STATUS:
                counters.status_frames += 1
                return FrameOutcome(FrameKind.STATUS.value, detail=decoded.status)
            if kind is FrameKind.ERROR:
                counters.error_frames += 1
                return FrameOutcome(
                    FrameKind.ERROR.value, detail=f"{decoded.error_name}: {decoded.error_message}"
                )
            if kind is FrameKind.IGNORED:
                counters.ignored_types += 1
                counters.drop("other", "ignored_type")
                return FrameOutcome(FrameKind.IGNORED.value, detail=decoded.ignored_type)
        return FrameOutcome(_DATA_VALUE, tuple(self._admit(decoded.records, received_time_us)))

    def admit_backfill(self, records: Iterable[TradeRecord], rejected: int, now_us: int) -> list[MarketDataMessage]:
        """Trades recovered over REST: the same checks and dedupe as streamed ones (a trade the
        stream also delivers goes out once, whichever came first), marked ``source`` = rest.
        ``rejected`` ticks could not be read at all: counted as invalid trades."""
        if rejected:
            self.counters.invalid += rejected
            key = (DataType.TRADE.value, INVALID)
            self.counters.dropped[key] = self.counters.dropped.get(key, 0) + rejected
        return [replace(message, source=SOURCE_REST) for message in self._admit(tuple(records), now_us)]

    def seen(self, code: str, sequential_id: int) -> bool:
        """Whether the trade was already forwarded (recently enough to be remembered)."""
        return self.dedupe.seen(code, sequential_id)

    def _admit(self, records: tuple[MarketRecord, ...], now_us: int) -> list[MarketDataMessage]:
        counters = self.counters
        codes, quotes, encode = self.codes, self.quote_currencies, self.encode
        last_trades = self.last_trades
        out: list[MarketDataMessage] = []
        for record in records:
            # record.data_type.value, without the enum's Python-level lookups
            data_type = _TRADE if type(record) is TradeRecord else _ORDERBOOK
            if record.code not in codes:
                counters.unsubscribed += 1
                counters.drop(data_type, "unsubscribed")
                continue
            try:
                validate_record(record, quotes)
            except Exception as err:  # noqa: BLE001 - ValidationException by contract; anything else alike
                counters.invalid += 1
                counters.drop(data_type, INVALID)
                self.notices.note(INVALID, now_us, f"{self.exchange}: refused invalid {data_type} record: {err}")
                continue
            if type(record) is TradeRecord:
                if self.dedupe.is_duplicate(record.code, record.sequential_id):
                    counters.duplicates += 1
                    counters.drop(data_type, "duplicate")
                    continue
                latest = last_trades.get(record.code)
                if latest is None or record.trade_time_us >= latest[0]:
                    last_trades[record.code] = (record.trade_time_us, record.sequential_id)
            try:
                encoded = encode(record)
            except Exception:  # noqa: BLE001 - one record the wire contract cannot carry; the rest go on
                # Counted as a malformed frame, and as a dropped record.
                counters.malformed += 1
                counters.drop(data_type, MALFORMED)
                continue
            out.append(encoded)
            counters.received += 1
            counters.received_by_type[data_type] = counters.received_by_type.get(data_type, 0) + 1
            counters.last_message_us[record.code] = record.received_time_us
        return out
