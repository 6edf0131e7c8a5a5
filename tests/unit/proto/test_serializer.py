"""Seed S2.5: the Protobuf contract and the serializer."""
from __future__ import annotations

import dataclasses
import filecmp
import subprocess
import sys
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.exceptions import SerializationException, ValidationException
from domain.market_data import MarketDataMessage
from domain.records import Exchange, OrderbookRecord, PriceLevel, TradeRecord
from exchanges.fields import plain
from proto import serializer
from proto.krwfeed.v1 import market_data_pb2 as pb
from proto.serializer import encode_record, kafka_headers, parse, serialize, to_record

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def dec(value: object) -> str:
    """A record's decimal text (plain notation) for a value written any way Decimal reads it."""
    return plain(Decimal(value))  # type: ignore[arg-type]


TRADE = TradeRecord(Exchange.UPBIT, "KRW-BTC", dec("1.16539E+8"), dec("0.00014208"), "BID",
                    1730336862047000, 1730336862082000, 1730336862100123, 17303368620470000, "SNAPSHOT",
                    dec("100571000.00000000"), "FALL", dec("0E-8"), dec("100473000"),
                    dec("0.43139478"), None, None)


def book(levels: int = 15) -> OrderbookRecord:
    asks = tuple(PriceLevel(dec(1000 + i), dec(f"0.{i + 1:08d}")) for i in range(levels))
    bids = tuple(PriceLevel(dec(999 - i), dec("7.9276E-4")) for i in range(levels))
    return OrderbookRecord(Exchange.BITHUMB, "KRW-ETH", asks, bids, dec("369.9832"), dec("287.0216"),
                           1790133505546514, 1790133505600001, "REALTIME", dec(1))


def test_S2_5_a_fields_map_exactly() -> None:
    msg = parse("trade", serialize(TRADE))
    assert isinstance(msg, pb.Trade)
    assert (msg.exchange, msg.code, msg.price, msg.volume, msg.side) == (pb.UPBIT, "KRW-BTC", "116539000",
                                                                         "0.00014208", pb.BID)
    assert msg.sequential_id == 17303368620470000 and msg.stream_type == pb.SNAPSHOT
    assert (msg.prev_closing_price, msg.change, msg.change_price) == ("100571000.00000000", pb.FALL, "0.00000000")
    assert (msg.best_ask_price, msg.best_ask_size, msg.best_bid_price, msg.best_bid_size) == (
        "100473000", "0.43139478", "", "")
    assert plain(Decimal("1.16539E+8")) == "116539000" and plain(Decimal("0.0010")) == "0.0010"


def test_S2_5_b_millisecond_times_become_timestamps() -> None:
    msg = parse("trade", serialize(TRADE))
    assert isinstance(msg, pb.Trade)
    assert (msg.trade_time.seconds, msg.trade_time.nanos) == (1730336862, 47_000_000)
    assert msg.trade_time.ToJsonString() == "2024-10-31T01:07:42.047Z"


def test_S2_5_c_received_time_is_utc() -> None:
    msg = parse("trade", serialize(TRADE))
    assert isinstance(msg, pb.Trade)
    assert msg.received_time.ToJsonString() == "2024-10-31T01:07:42.100123Z"
    received = msg.received_time.ToDatetime(tzinfo=UTC)
    assert received.utcoffset() == timedelta(0) and received.microsecond == 100123


def test_S2_5_d_unknown_enum_values_become_unspecified() -> None:
    odd = dataclasses.replace(TRADE, side="SELL", change="UP", stream_type="LIVE")
    msg = parse("trade", serialize(odd))
    assert isinstance(msg, pb.Trade)
    assert (msg.side, msg.change, msg.stream_type) == (pb.SIDE_UNSPECIFIED, pb.CHANGE_UNSPECIFIED,
                                                       pb.STREAM_TYPE_UNSPECIFIED) == (0, 0, 0)
    back = to_record(msg)
    assert isinstance(back, TradeRecord) and (back.side, back.change, back.stream_type) == ("", "", "")


@pytest.mark.parametrize("levels", [15, 30])
def test_S2_5_e_all_levels_serialised(levels: int) -> None:
    msg = parse("orderbook", serialize(book(levels)))
    assert isinstance(msg, pb.Orderbook) and len(msg.asks) == levels and len(msg.bids) == levels
    assert msg.asks[-1].price == str(1000 + levels - 1) and msg.bids[0].size == "0.00079276"


def test_S2_5_f_round_trip_loses_nothing() -> None:
    for record in (TRADE, book(30), dataclasses.replace(book(1), level=None, stream_type="")):
        back = to_record(parse(record.data_type.value, serialize(record)))
        assert back == record
        assert serialize(back) == serialize(record)


def test_S2_5_g_missing_required_field_raises() -> None:
    changes: list[tuple[Any, dict[str, Any]]] = [
        (TRADE, {"code": ""}), (TRADE, {"price": None}), (TRADE, {"exchange": "kraken"}), (TRADE, {"volume": 1.5}),
        (book(), {"total_ask_size": None}), (book(), {"asks": (PriceLevel(None, dec(1)),)}),  # type: ignore[arg-type]
    ]
    for record, change in changes:
        broken = dataclasses.replace(record, **change)
        with pytest.raises(SerializationException) as info:
            serialize(broken)
        assert isinstance(info.value, ValidationException)
    with pytest.raises(SerializationException):
        parse("orderbook", b"\xff\xff\xff")
    with pytest.raises(SerializationException):
        parse("ticker", b"")


def test_S2_5_h_bench_mix_covers_trades_books_and_formats() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.serialize import build_frames

    frames = build_frames(1000)
    texts = [frame.decode() for _, frame in frames]
    assert len(frames) == 1000
    assert any('"type":"trade"' in t for t in texts) and any('"ty":"trade"' in t for t in texts)
    assert any('"ty":"orderbook"' in t for t in texts) and {name for name, _ in frames} == {"upbit", "bithumb"}
    assert any(t.count('"ap"') == 30 for t in texts) and any(t.count('"ask_price"') == 15 for t in texts)


def test_S2_5_i_millisecond_and_microsecond_precision_kept() -> None:
    for time_us in (1676965220395000, 1790133505546514, 1, 999_999):
        record = dataclasses.replace(book(), event_time_us=time_us, received_time_us=time_us + 1)
        back = to_record(parse("orderbook", serialize(record)))
        assert isinstance(back, OrderbookRecord)
        assert (back.event_time_us, back.received_time_us) == (time_us, time_us + 1)


def _runtime_orderbook_bytes(record: OrderbookRecord) -> bytes:
    msg = pb.Orderbook(exchange=serializer.EXCHANGE_TO_PB[record.exchange], code=record.code,
                       total_ask_size=record.total_ask_size, total_bid_size=record.total_bid_size,
                       stream_type=serializer.STREAM_TO_PB.get(record.stream_type, pb.STREAM_TYPE_UNSPECIFIED),
                       level="" if record.level is None else record.level)
    for level in record.asks:
        msg.asks.add(price=level.price, size=level.size)
    for level in record.bids:
        msg.bids.add(price=level.price, size=level.size)
    msg.event_time.FromMicroseconds(record.event_time_us)
    msg.received_time.FromMicroseconds(record.received_time_us)
    return msg.SerializeToString()


def test_S2_5_j_level_encoding_matches_protobuf_runtime() -> None:
    long_price = dec("1" * 200 + ".5")  # forces two-byte length prefixes
    records = [book(30), book(0), dataclasses.replace(book(1), asks=(PriceLevel(long_price, dec("1E-30")),))]
    for record in records:
        assert serialize(record) == _runtime_orderbook_bytes(record)


def test_S2_5_j_nothing_carries_over_between_records() -> None:
    first = serialize(book(30))
    serialize(TRADE)
    small = serialize(book(1))
    parsed = parse("orderbook", small)
    assert isinstance(parsed, pb.Orderbook) and parsed.asks[0].price == "1000" and len(parsed.asks) == 1
    assert serialize(book(30)) == first  # nothing left over from the previous records
    other = dataclasses.replace(TRADE, code="KRW-ETH", exchange=Exchange.BITHUMB)
    back = parse("trade", serialize(other))
    assert isinstance(back, pb.Trade) and (back.code, back.exchange) == ("KRW-ETH", pb.BITHUMB)
    assert serializer._HEADS[(pb.UPBIT, "KRW-BTC")] != serializer._HEADS[(pb.BITHUMB, "KRW-ETH")]


def test_encode_record_and_kafka_headers() -> None:
    encoded = encode_record(TRADE)
    assert encoded == MarketDataMessage("upbit", "trade", "KRW-BTC", serialize(TRADE), 1730336862100123,
                                        17303368620470000)
    assert encode_record(book()).sequential_id == 0
    assert kafka_headers("upbit", "trade") == [("schema", b"krwfeed.v1.Trade"), ("exchange", b"upbit"),
                                               ("data_type", b"trade")]
    assert kafka_headers("bithumb", "orderbook")[0] == ("schema", b"krwfeed.v1.Orderbook")
    with pytest.raises(SerializationException):
        kafka_headers("upbit", "ticker")


def test_enums_start_with_unspecified() -> None:
    for enum, first in ((pb.Exchange, "EXCHANGE_UNSPECIFIED"), (pb.Side, "SIDE_UNSPECIFIED"),
                        (pb.Change, "CHANGE_UNSPECIFIED"), (pb.StreamType, "STREAM_TYPE_UNSPECIFIED")):
        assert enum.Name(0) == first
    assert pb.Trade.DESCRIPTOR.fields_by_name["sequential_id"].type == pb.Trade.DESCRIPTOR.fields_by_name[
        "sequential_id"].TYPE_UINT64


def test_generated_code_is_current(tmp_path: Path) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "gen_proto.sh"), str(tmp_path)], check=True,
                   env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    for name in ("market_data_pb2.py", "market_data_pb2.pyi"):
        assert filecmp.cmp(tmp_path / name, ROOT / "proto" / "krwfeed" / "v1" / name, shallow=False), name
