"""Records <-> krwfeed.v1 Protobuf bytes (seed S2.5), plus the Kafka key/header conventions.

Hot path: one ``serialize`` per record. Enum values come from precomputed maps and one message
object per type is cleared and refilled instead of being built anew for every record (seed
S2.5-j). That reuse assumes one thread per process, which is how the actors run.
"""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from messages.exceptions import SerializationException
from messages.records import (
    DataType,
    EncodedRecord,
    Exchange,
    MarketRecord,
    OrderbookRecord,
    PriceLevel,
    TradeRecord,
)
from proto.krwfeed.v1 import market_data_pb2 as pb
from proto.wire import ASKS_TAG, BIDS_TAG, levels_wire

SCHEMAS: dict[str, str] = {
    DataType.TRADE.value: pb.Trade.DESCRIPTOR.full_name,  # "krwfeed.v1.Trade"
    DataType.ORDERBOOK.value: pb.Orderbook.DESCRIPTOR.full_name,
}
# Unknown input values map to the *_UNSPECIFIED (0) member of each enum (seed S2.5-d).
EXCHANGE_TO_PB: dict[Exchange, pb.Exchange] = {Exchange.UPBIT: pb.UPBIT, Exchange.BITHUMB: pb.BITHUMB}
PB_TO_EXCHANGE: dict[int, Exchange] = {v: k for k, v in EXCHANGE_TO_PB.items()}
SIDE_TO_PB: dict[str, pb.Side] = {"ASK": pb.ASK, "BID": pb.BID}
CHANGE_TO_PB: dict[str, pb.Change] = {"RISE": pb.RISE, "EVEN": pb.EVEN, "FALL": pb.FALL}
STREAM_TO_PB: dict[str, pb.StreamType] = {"SNAPSHOT": pb.SNAPSHOT, "REALTIME": pb.REALTIME}
_SIDE_NAMES = {v: k for k, v in SIDE_TO_PB.items()}
_CHANGE_NAMES = {v: k for k, v in CHANGE_TO_PB.items()}
_STREAM_NAMES = {v: k for k, v in STREAM_TO_PB.items()}

_TRADE = pb.Trade()
_ORDERBOOK = pb.Orderbook()


def plain(value: Decimal) -> str:
    """Plain notation of the exact value: 1.16539E+8 -> "116539000", 0E-8 -> "0.00000000".

    Digits the exchange sent are kept, trailing zeros included ("0.0010" stays "0.0010"); only the
    exponent form is expanded.
    """
    if type(value) is not Decimal:
        raise TypeError(f"expected a Decimal, got {type(value).__name__}")
    text = str(value)
    return format(value, "f") if "E" in text else text


def _optional(value: Decimal | None) -> str:
    return "" if value is None else plain(value)


def _set_time(stamp: Timestamp, time_us: int) -> None:
    seconds, micros = divmod(time_us, 1_000_000)
    stamp.seconds = seconds
    stamp.nanos = micros * 1000


def _missing(record: MarketRecord, what: str) -> SerializationException:
    return SerializationException(f"cannot serialise {record.data_type.value}: {what}",
                                  exchange=getattr(record.exchange, "value", record.exchange),
                                  code=record.code, data_type=record.data_type.value)


def _serialize_trade(record: TradeRecord) -> bytes:
    if record.price is None or record.volume is None:
        raise _missing(record, "price and volume are required")
    msg = _TRADE
    msg.Clear()
    msg.exchange = EXCHANGE_TO_PB[record.exchange]
    msg.code = record.code
    msg.price = plain(record.price)
    msg.volume = plain(record.volume)
    msg.side = SIDE_TO_PB.get(record.side, pb.SIDE_UNSPECIFIED)
    _set_time(msg.trade_time, record.trade_time_us)
    _set_time(msg.event_time, record.event_time_us)
    _set_time(msg.received_time, record.received_time_us)
    msg.sequential_id = record.sequential_id
    msg.stream_type = STREAM_TO_PB.get(record.stream_type, pb.STREAM_TYPE_UNSPECIFIED)
    msg.prev_closing_price = _optional(record.prev_closing_price)
    msg.change = CHANGE_TO_PB.get(record.change, pb.CHANGE_UNSPECIFIED)
    msg.change_price = _optional(record.change_price)
    msg.best_ask_price = _optional(record.best_ask_price)
    msg.best_ask_size = _optional(record.best_ask_size)
    msg.best_bid_price = _optional(record.best_bid_price)
    msg.best_bid_size = _optional(record.best_bid_size)
    return msg.SerializeToString()


def _serialize_orderbook(record: OrderbookRecord) -> bytes:
    if record.total_ask_size is None or record.total_bid_size is None:
        raise _missing(record, "total sizes are required")
    msg = _ORDERBOOK
    msg.Clear()
    msg.exchange = EXCHANGE_TO_PB[record.exchange]
    msg.code = record.code
    # Fields 1-2, then the levels (3-4), then fields 5-10: the runtime's canonical field order.
    head = msg.SerializeToString()
    levels = levels_wire(ASKS_TAG, record.asks) + levels_wire(BIDS_TAG, record.bids)
    msg.Clear()
    msg.total_ask_size = plain(record.total_ask_size)
    msg.total_bid_size = plain(record.total_bid_size)
    _set_time(msg.event_time, record.event_time_us)
    _set_time(msg.received_time, record.received_time_us)
    msg.stream_type = STREAM_TO_PB.get(record.stream_type, pb.STREAM_TYPE_UNSPECIFIED)
    msg.level = _optional(record.level)
    # Decimal strings are ASCII and each varint character is one byte below 256: latin-1 maps
    # every character to exactly that byte.
    return head + levels.encode("latin-1") + msg.SerializeToString()



def serialize(record: MarketRecord) -> bytes:
    """Record -> krwfeed.v1 Trade/Orderbook bytes; missing code, exchange or prices raise."""
    if not record.code or not isinstance(record.code, str):
        raise _missing(record, "code is required")
    if record.exchange not in EXCHANGE_TO_PB:
        raise _missing(record, "exchange is required")
    try:
        if type(record) is TradeRecord:
            return _serialize_trade(record)
        if type(record) is OrderbookRecord:
            return _serialize_orderbook(record)
    except (TypeError, ValueError, AttributeError) as err:  # e.g. a negative time or a non-Decimal
        raise _missing(record, f"{type(err).__name__}: {err}") from err
    raise SerializationException("not a market record", value=type(record).__name__)


def encode_record(record: MarketRecord) -> EncodedRecord:
    """A record as it travels to Kafka: key = market code, payload = Protobuf bytes."""
    sequential_id = record.sequential_id if type(record) is TradeRecord else 0
    return EncodedRecord(record.exchange.value, record.data_type.value, record.code, serialize(record),
                         record.received_time_us, sequential_id)


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


def _dec(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def to_record(msg: pb.Trade | pb.Orderbook) -> MarketRecord:
    """The inverse of ``serialize`` (decimals come back as equal values in plain notation)."""
    exchange = PB_TO_EXCHANGE[msg.exchange]
    if isinstance(msg, pb.Trade):
        return TradeRecord(exchange, msg.code, Decimal(msg.price), Decimal(msg.volume), _SIDE_NAMES.get(msg.side, ""),
                           _time_us(msg.trade_time), _time_us(msg.event_time), _time_us(msg.received_time),
                           msg.sequential_id, _STREAM_NAMES.get(msg.stream_type, ""), _dec(msg.prev_closing_price),
                           _CHANGE_NAMES.get(msg.change, ""), _dec(msg.change_price), _dec(msg.best_ask_price),
                           _dec(msg.best_ask_size), _dec(msg.best_bid_price), _dec(msg.best_bid_size))
    return OrderbookRecord(
        exchange, msg.code,
        tuple(PriceLevel(Decimal(level.price), Decimal(level.size)) for level in msg.asks),
        tuple(PriceLevel(Decimal(level.price), Decimal(level.size)) for level in msg.bids),
        Decimal(msg.total_ask_size), Decimal(msg.total_bid_size), _time_us(msg.event_time),
        _time_us(msg.received_time), _STREAM_NAMES.get(msg.stream_type, ""), _dec(msg.level))


@lru_cache(maxsize=64)
def _headers(exchange: str, data_type: str) -> tuple[tuple[str, bytes], ...]:
    if data_type not in SCHEMAS:
        raise SerializationException("unknown data type", exchange=exchange, data_type=data_type)
    return (("schema", SCHEMAS[data_type].encode()), ("exchange", exchange.encode()),
            ("data_type", data_type.encode()))


def kafka_headers(exchange: str, data_type: str) -> list[tuple[str, bytes]]:
    """Headers on every Kafka record: ``schema`` (full Protobuf name), ``exchange``, ``data_type``."""
    return list(_headers(str(exchange), str(data_type)))


KAFKA_HEADERS = kafka_headers
