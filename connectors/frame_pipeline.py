"""From one WebSocket frame to the records krwfeed forwards. Pure: no sockets, no clocks.

The adapter turns bytes into a ``DecodedFrame``; this module then drops what must not go on and
counts every drop by reason (seed S2.2-f, S3.2-c): malformed frames (the connection is kept),
frames of types krwfeed does not carry, records for codes this connection did not subscribe,
and trades already seen (the SNAPSHOT trade repeated after a resubscribe). What is left is
serialised once, here, so the actors pass small byte payloads around.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from connectors.trade_dedupe import TradeDedupe
from exchanges.base import DecodedFrame, ExchangeAdapter, FrameKind
from messages.exceptions import ValidationException
from messages.records import EncodedRecord, MarketRecord, TradeRecord

Encoder = Callable[[MarketRecord], EncodedRecord]


@dataclass(slots=True)
class FrameCounters:
    """Cumulative counts for one connection. ``dropped`` is keyed by (data_type, reason)."""

    frames: int = 0
    received: int = 0  # records forwarded
    malformed: int = 0
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


@dataclass(frozen=True, slots=True)
class FrameOutcome:
    kind: str  # a FrameKind value, or "malformed"
    records: tuple[EncodedRecord, ...] = ()
    detail: str = ""  # error name/message or the reason a frame was malformed


MALFORMED = "malformed"


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
        self.codes: frozenset[str] = frozenset()
        self.set_codes(codes)

    def set_codes(self, codes: Iterable[str]) -> None:
        self.codes = frozenset(c.upper() for c in codes)
        self.dedupe.forget_codes_except(self.codes)

    def process(self, frame: bytes | str, received_time_us: int) -> FrameOutcome:
        """Decode one frame and filter its records. Never raises for bad input."""
        self.counters.frames += 1
        try:
            decoded = self.adapter.decode(frame, received_time_us)
        except ValidationException as err:
            self.counters.malformed += 1
            return FrameOutcome(MALFORMED, detail=err.message)
        return self.process_decoded(decoded)

    def process_decoded(self, decoded: DecodedFrame) -> FrameOutcome:
        counters = self.counters
        if decoded.kind is FrameKind.STATUS:
            counters.status_frames += 1
            return FrameOutcome(FrameKind.STATUS.value, detail=decoded.status)
        if decoded.kind is FrameKind.ERROR:
            counters.error_frames += 1
            return FrameOutcome(
                FrameKind.ERROR.value, detail=f"{decoded.error_name}: {decoded.error_message}"
            )
        if decoded.kind is FrameKind.IGNORED:
            counters.ignored_types += 1
            counters.drop("other", "ignored_type")
            return FrameOutcome(FrameKind.IGNORED.value, detail=decoded.ignored_type)
        return FrameOutcome(FrameKind.DATA.value, tuple(self._admit(decoded.records)))

    def _admit(self, records: tuple[MarketRecord, ...]) -> list[EncodedRecord]:
        counters = self.counters
        out: list[EncodedRecord] = []
        for record in records:
            data_type = record.data_type.value
            if record.code not in self.codes:
                counters.unsubscribed += 1
                counters.drop(data_type, "unsubscribed")
                continue
            if isinstance(record, TradeRecord) and self.dedupe.is_duplicate(
                record.code, record.sequential_id
            ):
                counters.duplicates += 1
                counters.drop(data_type, "duplicate")
                continue
            try:
                encoded = self.encode(record)
            except ValidationException:
                # A record the wire contract cannot carry counts as a malformed frame.
                counters.malformed += 1
                continue
            out.append(encoded)
            counters.received += 1
            counters.received_by_type[data_type] = counters.received_by_type.get(data_type, 0) + 1
            counters.last_message_us[record.code] = record.received_time_us
        return out
