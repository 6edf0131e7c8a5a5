"""Seed S2.5-j: the hand-written wire encoding gives byte for byte what the protobuf runtime gives.

Random records (decimal texts of any length and scale, times of any sign and precision, ids up to 2^64-1,
known and unknown enum names, absent optional fields, long and non-ASCII strings) are serialised
both ways; the bytes must be equal and must parse back to the same message.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.exceptions import SerializationException
from domain.records import Exchange, OrderbookRecord, PriceLevel, TradeRecord
from exchanges.fields import plain
from proto import serializer
from proto.krwfeed.v1 import market_data_pb2 as pb
from proto.serializer import parse, serialize
from proto.wire import timestamp_field, varint

pytestmark = pytest.mark.unit


def reference_plain(value: Decimal) -> str:
    """The obvious definition: fixed-point notation of the value with the exponent it was given."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    text = ("".join(map(str, digits)) + "0" * max(exponent, 0)).lstrip("0") or "0"
    if exponent < 0:
        text = text.rjust(-exponent + 1, "0")
        text = f"{text[:exponent]}.{text[exponent:]}"
    return ("-" if sign else "") + text


decimal_values = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(int(d) for d in digits), exponent)),
    st.sampled_from([0, 0, 0, 1]),
    st.text("0123456789", min_size=1, max_size=40),
    st.integers(-40, 40),
)
# Records carry decimals as texts in plain notation.
decimals = decimal_values.map(plain)
times = st.one_of(st.integers(-(10**17), 10**17), st.sampled_from([0, 1, 999_999, 1_000_000, -1]),
                  st.integers(0, 2**40).map(lambda ms: ms * 1000))
enum_names = st.sampled_from(["", "ASK", "BID", "RISE", "EVEN", "FALL", "SNAPSHOT", "REALTIME", "SELL"])
codes = st.one_of(st.sampled_from(["KRW-BTC", "USDT-ETH"]), st.text(min_size=1, max_size=200))
optional = st.one_of(st.none(), decimals)
levels = st.lists(st.builds(PriceLevel, decimals, decimals), max_size=35).map(tuple)


def _set_time(stamp: pb.google_dot_protobuf_dot_timestamp__pb2.Timestamp, time_us: int) -> None:
    stamp.seconds, micros = divmod(time_us, 1_000_000)
    stamp.nanos = micros * 1000


def _text(value: str | None) -> str:
    return "" if value is None else value


def runtime_trade(record: TradeRecord) -> bytes:
    msg = pb.Trade(exchange=serializer.EXCHANGE_TO_PB[record.exchange], code=record.code,
                   price=_text(record.price), volume=_text(record.volume),
                   side=serializer.SIDE_TO_PB.get(record.side, 0), sequential_id=record.sequential_id,
                   stream_type=serializer.STREAM_TO_PB.get(record.stream_type, 0),
                   prev_closing_price=_text(record.prev_closing_price),
                   change=serializer.CHANGE_TO_PB.get(record.change, 0), change_price=_text(record.change_price),
                   best_ask_price=_text(record.best_ask_price), best_ask_size=_text(record.best_ask_size),
                   best_bid_price=_text(record.best_bid_price), best_bid_size=_text(record.best_bid_size))
    _set_time(msg.trade_time, record.trade_time_us)
    _set_time(msg.event_time, record.event_time_us)
    _set_time(msg.received_time, record.received_time_us)
    return msg.SerializeToString()


def runtime_orderbook(record: OrderbookRecord) -> bytes:
    msg = pb.Orderbook(exchange=serializer.EXCHANGE_TO_PB[record.exchange], code=record.code,
                       total_ask_size=_text(record.total_ask_size), total_bid_size=_text(record.total_bid_size),
                       stream_type=serializer.STREAM_TO_PB.get(record.stream_type, 0), level=_text(record.level))
    for level in record.asks:
        msg.asks.add(price=_text(level.price), size=_text(level.size))
    for level in record.bids:
        msg.bids.add(price=_text(level.price), size=_text(level.size))
    _set_time(msg.event_time, record.event_time_us)
    _set_time(msg.received_time, record.received_time_us)
    return msg.SerializeToString()


@settings(max_examples=300, deadline=None)
@given(decimal_values)
def test_S2_5_a_plain_notation_equals_reference(value: Decimal) -> None:
    text = plain(value)
    assert text == reference_plain(value)
    assert "E" not in text and Decimal(text) == value
    if value.as_tuple().exponent <= 0:  # type: ignore[operator]
        assert Decimal(text).as_tuple() == value.as_tuple()  # digits and trailing zeros kept


@settings(max_examples=300, deadline=None)
@given(st.builds(TradeRecord, st.sampled_from(list(Exchange)), codes, decimals, decimals, enum_names, times, times,
                 times, st.integers(0, 2**64 - 1), enum_names, optional, enum_names, optional, optional, optional,
                 optional, optional))
def test_S2_5_j_trade_bytes_equal_runtime(record: TradeRecord) -> None:
    data = serialize(record)
    assert data == runtime_trade(record)
    assert parse("trade", data).SerializeToString() == data


@settings(max_examples=300, deadline=None)
@given(st.builds(OrderbookRecord, st.sampled_from(list(Exchange)), codes, levels, levels, decimals, decimals, times,
                 times, enum_names, optional))
def test_S2_5_j_orderbook_bytes_equal_runtime(record: OrderbookRecord) -> None:
    data = serialize(record)
    assert data == runtime_orderbook(record)
    assert parse("orderbook", data).SerializeToString() == data


def test_S2_5_j_varint_and_timestamp_edges() -> None:
    for value in (0, 1, 127, 128, 300, 2**32, 2**63 - 1, 2**64 - 1, -1, -(2**63)):
        stamp = pb.Trade(sequential_id=value & (2**64 - 1)).SerializeToString()
        assert stamp == b"" if value == 0 else stamp == b"\x48" + varint(value).encode("latin-1")
    for bad in (2**64, -(2**63) - 1):
        with pytest.raises(ValueError):
            varint(bad)
    with pytest.raises(TypeError):
        timestamp_field("\x32", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        varint(True)


@pytest.mark.parametrize("change", [{"sequential_id": 2**64}, {"sequential_id": -1}, {"trade_time_us": 10**30},
                                    {"event_time_us": 1.5}, {"best_bid_size": 0.5}])
def test_S2_5_g_out_of_range_or_wrong_type_raises(change: dict[str, object]) -> None:
    record = TradeRecord(Exchange.UPBIT, "KRW-BTC", "1", "2", "BID", 1, 1, 1, 1, "", None)
    with pytest.raises(SerializationException):
        serialize(TradeRecord(**{**{f: getattr(record, f) for f in record.__slots__}, **change}))


def test_S2_5_j_level_with_non_text_decimal_raises() -> None:
    for bad in (PriceLevel("1", 1.5), PriceLevel("1", Decimal(1)), PriceLevel(Decimal(1), "2"),  # type: ignore[arg-type]
                PriceLevel(None, "2")):  # type: ignore[arg-type]
        record = OrderbookRecord(Exchange.UPBIT, "KRW-BTC", (PriceLevel("1", "1"), bad), (), "1", "1", 1, 1, "")
        with pytest.raises(SerializationException):
            serialize(record)
