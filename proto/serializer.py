"""Records <-> krwfeed.v1 Protobuf bytes, plus the Kafka key/header conventions.

Hot path: one ``serialize`` per record. The bytes are written directly in protobuf's wire format
(``proto.wire``), fields in number order and proto3 zero values left out, exactly as the runtime
serialises the same message; the tests hold the two to the same bytes. Enum values come from
precomputed maps and the exchange/code head of each market is built once.
"""
from __future__ import annotations

from functools import lru_cache

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from domain import market_data
from domain.exceptions import SerializationException
from domain.market_data import MarketDataMessage
from domain.records import (
    ConnectionEventKind,
    ConnectionEventRecord,
    DataType,
    Exchange,
    Levels,
    MarketRecord,
    OrderbookRecord,
    TradeRecord,
)
from proto.krwfeed.v1 import market_data_pb2 as pb
from proto.wire import ASKS_TAG, BIDS_TAG, decimal_field, levels_wire, prefix, timestamp_field, varint

SCHEMAS: dict[str, str] = {
    DataType.TRADE.value: pb.Trade.DESCRIPTOR.full_name,  # "krwfeed.v1.Trade"
    DataType.ORDERBOOK.value: pb.Orderbook.DESCRIPTOR.full_name,
}
# Unknown input values map to the *_UNSPECIFIED (0) member of each enum.
EXCHANGE_TO_PB: dict[Exchange, pb.Exchange] = {Exchange.UPBIT: pb.UPBIT, Exchange.BITHUMB: pb.BITHUMB}
PB_TO_EXCHANGE: dict[int, Exchange] = {v: k for k, v in EXCHANGE_TO_PB.items()}
SIDE_TO_PB: dict[str, pb.Side] = {"ASK": pb.ASK, "BID": pb.BID}
CHANGE_TO_PB: dict[str, pb.Change] = {"RISE": pb.RISE, "EVEN": pb.EVEN, "FALL": pb.FALL}
STREAM_TO_PB: dict[str, pb.StreamType] = {"SNAPSHOT": pb.SNAPSHOT, "REALTIME": pb.REALTIME}
_SIDE_NAMES = {v: k for k, v in SIDE_TO_PB.items()}
_CHANGE_NAMES = {v: k for k, v in CHANGE_TO_PB.items()}
_STREAM_NAMES = {v: k for k, v in STREAM_TO_PB.items()}
_UINT64_MAX = 2**64 - 1
_TRADE, _ORDERBOOK = DataType.TRADE.value, DataType.ORDERBOOK.value
EVENT_SCHEMA = pb.ConnectionEvent.DESCRIPTOR.full_name  # "krwfeed.v1.ConnectionEvent"
EVENT_DATA_TYPE = "event"  # the data_type header of events
KIND_TO_PB: dict[ConnectionEventKind, int] = {
    kind: pb.ConnectionEvent.Kind.Value(kind.value) for kind in ConnectionEventKind}
_KIND_NAMES = {v: k for k, v in KIND_TO_PB.items()}
# The source header marks records that did not come from the stream (backfilled from REST).
SOURCE_HEADER = "source"
SOURCE_REST = market_data.SOURCE_REST


def _string_tag(number: int) -> str:
    """Tag of a length-delimited field: number << 3 | 2 (fields above 15 take two bytes)."""
    return varint(number << 3 | 2)


# Trade's decimal string fields, then Orderbook's. Varint and Timestamp tags are written inline:
# "\x28" = field 5 varint, "\x32" = field 6 length-delimited, and so on.
(_PRICE, _VOLUME, _PREV_CLOSING_PRICE, _CHANGE_PRICE, _BEST_ASK_PRICE, _BEST_ASK_SIZE, _BEST_BID_PRICE,
 _BEST_BID_SIZE) = map(_string_tag, (3, 4, 11, 13, 14, 15, 16, 17))
_TOTAL_ASK_SIZE, _TOTAL_BID_SIZE, _LEVEL = map(_string_tag, (5, 6, 10))
_HEADS: dict[tuple[int, str], str] = {}


def _head(exchange: int, code: str) -> str:
    """Fields 1 (exchange) and 2 (code), the same for every record of a market: built once."""
    head = _HEADS.get((exchange, code))
    if head is None:
        encoded = code.encode("utf-8").decode("latin-1")
        head = f"\x08{chr(exchange)}\x12{prefix(len(encoded))}{encoded}"
        if len(_HEADS) >= 4096:
            _HEADS.clear()
        _HEADS[(exchange, code)] = head
    return head


def _enum(tag: str, value: int) -> str:
    return f"{tag}{chr(value)}" if value else ""  # proto3 leaves out zero values


# Each enum field's wire form per record value, looked up whole (unknown values are the zero member,
# which proto3 leaves out): Trade.side (5), Trade.stream_type (10), Trade.change (12) and
# Orderbook.stream_type (9).
_SIDE_WIRE = {name: _enum("\x28", value) for name, value in SIDE_TO_PB.items()}
_TRADE_STREAM_WIRE = {name: _enum("\x50", value) for name, value in STREAM_TO_PB.items()}
_CHANGE_WIRE = {name: _enum("\x60", value) for name, value in CHANGE_TO_PB.items()}
_BOOK_STREAM_WIRE = {name: _enum("\x48", value) for name, value in STREAM_TO_PB.items()}


def _missing(record: MarketRecord, what: str) -> SerializationException:
    return SerializationException(f"cannot serialise {record.data_type.value}: {what}",
                                  exchange=getattr(record.exchange, "value", record.exchange),
                                  code=record.code, data_type=record.data_type.value)


def _serialize_trade(record: TradeRecord, head: str) -> bytes:
    if record.price is None or record.volume is None:
        raise _missing(record, "price and volume are required")
    sequential_id = record.sequential_id
    if type(sequential_id) is not int or not 0 <= sequential_id <= _UINT64_MAX:
        raise ValueError(f"sequential_id must be an unsigned 64-bit integer, got {sequential_id!r}")
    return "".join((
        head,
        decimal_field(_PRICE, record.price),
        decimal_field(_VOLUME, record.volume),
        _SIDE_WIRE.get(record.side, ""),
        timestamp_field("\x32", record.trade_time_us),
        timestamp_field("\x3a", record.event_time_us),
        timestamp_field("\x42", record.received_time_us),
        f"\x48{varint(sequential_id)}" if sequential_id else "",
        _TRADE_STREAM_WIRE.get(record.stream_type, ""),
        decimal_field(_PREV_CLOSING_PRICE, record.prev_closing_price),
        _CHANGE_WIRE.get(record.change, ""),
        decimal_field(_CHANGE_PRICE, record.change_price),
        decimal_field(_BEST_ASK_PRICE, record.best_ask_price),
        decimal_field(_BEST_ASK_SIZE, record.best_ask_size),
        decimal_field(_BEST_BID_PRICE, record.best_bid_price),
        decimal_field(_BEST_BID_SIZE, record.best_bid_size),
    )).encode("latin-1")


def _serialize_orderbook(record: OrderbookRecord, head: str) -> bytes:
    if record.total_ask_size is None or record.total_bid_size is None:
        raise _missing(record, "total sizes are required")
    return "".join((
        head,
        levels_wire(ASKS_TAG, record.asks),
        levels_wire(BIDS_TAG, record.bids),
        decimal_field(_TOTAL_ASK_SIZE, record.total_ask_size),
        decimal_field(_TOTAL_BID_SIZE, record.total_bid_size),
        timestamp_field("\x3a", record.event_time_us),
        timestamp_field("\x42", record.received_time_us),
        _BOOK_STREAM_WIRE.get(record.stream_type, ""),
        decimal_field(_LEVEL, record.level),
    )).encode("latin-1")


def serialize(record: MarketRecord) -> bytes:
    """Record -> krwfeed.v1 Trade/Orderbook bytes; missing code, exchange or prices raise."""
    if not record.code or not isinstance(record.code, str):
        raise _missing(record, "code is required")
    exchange = EXCHANGE_TO_PB.get(record.exchange)  # one lookup: hashing an Enum runs Python code
    if exchange is None:
        raise _missing(record, "exchange is required")
    try:
        head = _head(exchange, record.code)
        if type(record) is TradeRecord:
            return _serialize_trade(record, head)
        if type(record) is OrderbookRecord:
            return _serialize_orderbook(record, head)
    except (TypeError, ValueError, AttributeError) as err:  # e.g. a negative time or a non-text decimal
        raise _missing(record, f"{type(err).__name__}: {err}") from err
    raise SerializationException("not a market record", value=type(record).__name__)


def _strings(tag: str, values: tuple[str, ...]) -> str:
    parts = []
    for value in values:
        if type(value) is not str:
            raise TypeError(f"expected a text, got {type(value).__name__}")
        encoded = value.encode("utf-8").decode("latin-1")
        parts.append(f"{tag}{prefix(len(encoded))}{encoded}")
    return "".join(parts)


def serialize_event(event: ConnectionEventRecord) -> bytes:
    """Event -> krwfeed.v1 ConnectionEvent bytes (the runtime's own serialisation, byte for byte)."""
    if event.exchange not in EXCHANGE_TO_PB or event.kind not in KIND_TO_PB:
        raise SerializationException("cannot serialise event: exchange and kind are required",
                                     exchange=getattr(event.exchange, "value", event.exchange),
                                     value=getattr(event.kind, "value", event.kind))
    try:
        recovered = event.trades_recovered
        if type(recovered) is not int or not 0 <= recovered <= _UINT64_MAX:
            raise ValueError(f"trades_recovered must be an unsigned 64-bit integer, got {recovered!r}")
        if type(event.gap_closed) is not bool:
            raise TypeError("gap_closed must be a bool")
        return "".join((
            f"\x08{chr(EXCHANGE_TO_PB[event.exchange])}",
            _strings("\x12", (event.connection_id,) if event.connection_id else ()),
            _strings("\x1a", event.codes),
            f"\x20{chr(KIND_TO_PB[event.kind])}",
            "" if event.from_time_us is None else timestamp_field("\x2a", event.from_time_us),
            "" if event.to_time_us is None else timestamp_field("\x32", event.to_time_us),
            f"\x38{varint(recovered)}" if recovered else "",
            "\x40\x01" if event.gap_closed else "",
            _strings("\x4a", (event.reason,) if event.reason else ()),
            timestamp_field("\x52", event.event_time_us),
            _strings("\x5a", event.added_codes),
            _strings("\x62", event.removed_codes),
        )).encode("latin-1")
    except (TypeError, ValueError, AttributeError) as err:
        raise SerializationException(f"cannot serialise event: {type(err).__name__}: {err}",
                                     exchange=str(event.exchange), value=str(event.kind)) from err


def parse_event(payload: bytes) -> pb.ConnectionEvent:
    try:
        return pb.ConnectionEvent.FromString(payload)
    except DecodeError as err:
        raise SerializationException("payload is not a valid event", value=payload[:64]) from err


def event_to_record(msg: pb.ConnectionEvent) -> ConnectionEventRecord:
    """The inverse of ``serialize_event``."""
    return ConnectionEventRecord(
        PB_TO_EXCHANGE[msg.exchange], msg.connection_id, _KIND_NAMES[msg.kind], _time_us(msg.event_time),
        tuple(msg.codes), _time_us(msg.from_time) if msg.HasField("from_time") else None,
        _time_us(msg.to_time) if msg.HasField("to_time") else None, msg.trades_recovered, msg.gap_closed,
        msg.reason, tuple(msg.added_codes), tuple(msg.removed_codes))


def event_headers(exchange: str) -> list[tuple[str, bytes]]:
    """Headers on every event record: ``schema``, ``exchange``, ``data_type`` = "event"."""
    return [("schema", EVENT_SCHEMA.encode()), ("exchange", str(exchange).encode()),
            ("data_type", EVENT_DATA_TYPE.encode())]


def encode_record(record: MarketRecord) -> MarketDataMessage:
    """A record as it travels to Kafka: key = market code, payload = Protobuf bytes."""
    payload = serialize(record)
    # The enum members' values read directly: Enum.value is a Python-level descriptor.
    if type(record) is TradeRecord:
        return MarketDataMessage(record.exchange._value_, _TRADE, record.code, payload, record.received_time_us,
                                 record.sequential_id)
    return MarketDataMessage(record.exchange._value_, _ORDERBOOK, record.code, payload, record.received_time_us)


def parse(data_type: str, payload: bytes) -> pb.Trade | pb.Orderbook:
    """Kafka payload -> the Protobuf message named by ``data_type``."""
    message_type = pb.Trade if data_type == DataType.TRADE.value else pb.Orderbook
    if data_type not in SCHEMAS:
        raise SerializationException("unknown data type", data_type=data_type)
    try:
        return message_type.FromString(payload)
    except DecodeError as err:
        raise SerializationException("payload is not a valid message", data_type=data_type,
                                     value=payload[:64]) from err


def _time_us(stamp: Timestamp) -> int:
    return stamp.seconds * 1_000_000 + stamp.nanos // 1000


def _dec(text: str) -> str | None:
    return text or None


def to_record(msg: pb.Trade | pb.Orderbook) -> MarketRecord:
    """The inverse of ``serialize``."""
    exchange = PB_TO_EXCHANGE[msg.exchange]
    if isinstance(msg, pb.Trade):
        return TradeRecord(exchange, msg.code, msg.price, msg.volume, _SIDE_NAMES.get(msg.side, ""),
                           _time_us(msg.trade_time), _time_us(msg.event_time), _time_us(msg.received_time),
                           msg.sequential_id, _STREAM_NAMES.get(msg.stream_type, ""), _dec(msg.prev_closing_price),
                           _CHANGE_NAMES.get(msg.change, ""), _dec(msg.change_price), _dec(msg.best_ask_price),
                           _dec(msg.best_ask_size), _dec(msg.best_bid_price), _dec(msg.best_bid_size))
    return OrderbookRecord(
        exchange, msg.code,
        Levels(tuple(level.price for level in msg.asks), tuple(level.size for level in msg.asks)),
        Levels(tuple(level.price for level in msg.bids), tuple(level.size for level in msg.bids)),
        msg.total_ask_size, msg.total_bid_size, _time_us(msg.event_time),
        _time_us(msg.received_time), _STREAM_NAMES.get(msg.stream_type, ""), _dec(msg.level))


@lru_cache(maxsize=64)
def _headers(exchange: str, data_type: str) -> tuple[tuple[str, bytes], ...]:
    if data_type not in SCHEMAS:
        raise SerializationException("unknown data type", exchange=exchange, data_type=data_type)
    return (("schema", SCHEMAS[data_type].encode()), ("exchange", exchange.encode()),
            ("data_type", data_type.encode()))


def kafka_headers(exchange: str, data_type: str, source: str | None = None) -> list[tuple[str, bytes]]:
    """Headers on every Kafka record: ``schema`` (full Protobuf name), ``exchange``, ``data_type``;
    with ``source`` (``SOURCE_REST`` for backfilled trades) also ``source``. Streamed records carry
    no ``source`` header, so a consumer that ignores headers sees both alike."""
    headers = list(_headers(str(exchange), str(data_type)))
    if source:
        headers.append((SOURCE_HEADER, source.encode()))
    return headers
