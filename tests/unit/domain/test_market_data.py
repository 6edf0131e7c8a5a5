"""Seed S1.2 (MarketDataMessage, record validation) and S2.2-g / S2.5-c (UTC receive times)."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.exceptions import ValidationException
from domain.market_data import MarketDataMessage, normalise_code, validate_record
from domain.records import Exchange, OrderbookRecord, PriceLevel, TradeRecord
from proto.serializer import encode_record, serialize

pytestmark = pytest.mark.unit
NOW = datetime(2026, 9, 23, 3, 18, 33, 123456, tzinfo=UTC)
NOW_US = 1790133513123456  # NOW in UTC microseconds


def message(**changes: object) -> MarketDataMessage:
    base = MarketDataMessage("upbit", "trade", "KRW-BTC", b'{"type":"trade"}', NOW_US, 7)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def trade(**changes: object) -> TradeRecord:
    base = TradeRecord(Exchange.UPBIT, "KRW-BTC", "100473000.00000000", "0.00014208", "BID",
                       1730336862047000, 1730336862082000, 1730336862100000, 17303368620470000, "SNAPSHOT",
                       change_price="0.00000000")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def book(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> OrderbookRecord:
    return OrderbookRecord(Exchange.UPBIT, "KRW-BTC", tuple(PriceLevel(p, s) for p, s in asks),
                           tuple(PriceLevel(p, s) for p, s in bids), "1", "2",
                           1790134742106000, 1790134742200000, "SNAPSHOT", "0")


def test_S1_2_a_market_data_message_is_frozen() -> None:
    msg = message()
    assert [f.name for f in dataclasses.fields(msg)] == ["exchange", "data_type", "code", "raw_data",
                                                         "received_time_us", "sequential_id", "source"]
    assert (msg.exchange, msg.data_type, msg.code, msg.raw_data, msg.received_timestamp) == (
        "upbit", "trade", "KRW-BTC", b'{"type":"trade"}', NOW)
    assert not hasattr(msg, "__dict__")  # slotted: it is built for every record
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.code = "KRW-ETH"  # type: ignore[misc]


def test_S1_2_a_the_service_streams_and_publishes_this_class() -> None:
    # The connector's encoder (the serializer) builds it: the seed's message is the record the
    # service streams and publishes.
    record = TradeRecord(Exchange.UPBIT, "KRW-BTC", "1", "2", "BID", 1, 1, NOW_US, 5, "REALTIME")
    encoded = encode_record(record)
    assert type(encoded) is MarketDataMessage and encoded.validate() is encoded
    assert encoded.raw_data == serialize(record) and encoded.received_timestamp == NOW


@pytest.mark.parametrize("code", ["BTC-KRW", "KRWBTC", "", "   ", "KRW-", "-BTC", "KRW_BTC", "KRW-BTC-X", "USDT-BTC"])
def test_S1_2_b_invalid_code_raises(code: str) -> None:
    with pytest.raises(ValidationException) as info:
        message(code=code).validate()
    assert info.value.context["code"] == code


def test_S1_2_b_only_configured_quote_currencies_accepted() -> None:
    assert message(code="usdt-btc").validate(("KRW", "USDT")).code == "USDT-BTC"
    assert normalise_code("btc-eth", ("KRW", "BTC")) == "BTC-ETH"
    with pytest.raises(ValidationException):
        normalise_code("BTC-KRW", ("KRW", "BTC"))  # KRW is never a base currency
    with pytest.raises(ValidationException):
        normalise_code(None)


@pytest.mark.parametrize("raw", [b"", ""])
def test_S1_2_c_empty_raw_data_raises(raw: bytes | str) -> None:
    with pytest.raises(ValidationException, match="raw_data"):
        message(raw_data=raw).validate()


def test_S1_2_d_code_normalised_to_upper_case() -> None:
    original = message(code="krw-btc")
    validated = original.validate()
    assert validated.code == "KRW-BTC" and original.code == "krw-btc"  # a copy; the original is unchanged


def test_S2_2_i_data_type_must_be_trade_or_orderbook() -> None:
    assert message(data_type="orderbook").validate().data_type == "orderbook"
    with pytest.raises(ValidationException, match="trade or orderbook"):
        message(data_type="ticker").validate()


def test_validate_refuses_an_unknown_exchange_and_accepts_the_enum() -> None:
    assert message(exchange=Exchange.BITHUMB).validate().exchange == "bithumb"
    with pytest.raises(ValidationException, match="unknown exchange"):
        message(exchange="binance").validate()


def test_S2_2_g_received_timestamp_is_utc() -> None:
    stamp = message().received_timestamp
    assert stamp == NOW and stamp.tzinfo is UTC and stamp.utcoffset() == timedelta(0)
    assert stamp == NOW.astimezone(timezone(timedelta(hours=9)))  # the same instant, held in UTC
    assert message(received_time_us=NOW_US + 1).received_timestamp == NOW + timedelta(microseconds=1)
    for bad in (0, -1):
        with pytest.raises(ValidationException, match="positive UTC microseconds"):
            message(received_time_us=bad).validate()


def test_S1_2_e_prices_positive_and_exact() -> None:
    record = trade()
    assert validate_record(record) is record
    assert Decimal(record.price) == Decimal("100473000.00000000") and record.price == "100473000.00000000"
    for bad in ("0", "0.00000000", "-1"):
        with pytest.raises(ValidationException, match="positive|negative"):
            validate_record(trade(price=bad))
        with pytest.raises(ValidationException, match="positive|negative"):
            validate_record(trade(volume=bad))
    smallest = trade(volume="0." + "0" * 61 + "1")  # the smallest positive text at the length bound
    assert validate_record(smallest) is smallest
    with pytest.raises(ValidationException, match="best_bid_price must not be negative") as info:
        validate_record(trade(best_bid_price="-5"))
    assert info.value.context["field"] == "best_bid_price" and info.value.context["value"] == "-5"
    for bad in ("NaN", "inf", "1e5", "1_000", " 5", "1.2.3", ".", "", "١٢", "1" * 65):
        with pytest.raises(ValidationException, match="plain notation"):
            validate_record(trade(price=bad))
    with pytest.raises(ValidationException, match="plain notation"):
        validate_record(trade(price=Decimal(5)))  # a record carries texts, not Decimals


def test_S1_2_e_asks_ascending_bids_descending() -> None:
    good = book([("100", "1"), ("101", "2")], [("99", "1"), ("98", "3")])
    assert validate_record(good) is good
    with pytest.raises(ValidationException, match="ask prices must be strictly ascending") as info:
        validate_record(book([("101", "1"), ("100", "2")], [("99", "1")]))
    assert info.value.context["field"] == "asks[1].price" and info.value.context["value"] == "100"
    with pytest.raises(ValidationException, match="bid prices must be strictly descending"):
        validate_record(book([("100", "1")], [("98", "1"), ("99", "3")]))
    with pytest.raises(ValidationException, match="positive price and size"):
        validate_record(book([("100", "0")], []))
    with pytest.raises(ValidationException, match="must not be negative"):
        validate_record(book([("100", "-1")], []))
    with pytest.raises(ValidationException, match="plain notation") as info:
        validate_record(book([("100", "1"), ("101", "1" * 65)], []))
    assert info.value.context["field"] == "asks[1].size"
    with pytest.raises(ValidationException, match="total_bid_size"):
        validate_record(dataclasses.replace(good, total_bid_size="-2"))


def test_S1_2_e_order_decided_exactly_where_floats_are_equal() -> None:
    close = ["0.10000000000000000001", "0.10000000000000000002", "0.10000000000000000003"]
    assert float(close[0]) == float(close[2])
    assert validate_record(book([(p, "1") for p in close], []))
    assert validate_record(book([], [(p, "1") for p in reversed(close)]))
    with pytest.raises(ValidationException, match="strictly ascending"):
        validate_record(book([(close[0], "1"), (close[2], "1"), (close[1], "1")], []))
    with pytest.raises(ValidationException, match="strictly descending"):
        validate_record(book([], [(close[1], "1"), (close[1] + "0", "1")]))  # equal values, other spelling


def test_validate_record_checks_code_and_times() -> None:
    with pytest.raises(ValidationException, match="not normalised"):
        validate_record(trade(code="krw-btc"))
    with pytest.raises(ValidationException, match="quote currency"):
        validate_record(trade(code="USDT-BTC"))
    assert validate_record(trade(code="USDT-BTC"), ("KRW", "USDT")).code == "USDT-BTC"
    with pytest.raises(ValidationException, match="times"):
        validate_record(trade(trade_time_us=0))
