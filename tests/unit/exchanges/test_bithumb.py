"""Bithumb ws-api v1: camelCase options, microsecond book timestamps, KST trade dates."""
from __future__ import annotations

import json

import pytest

from domain.exceptions import ValidationException
from domain.records import Exchange, OrderbookRecord, TradeRecord
from exchanges.base import FrameKind
from exchanges.registry import get_adapter

pytestmark = pytest.mark.unit
bithumb = get_adapter("bithumb")
RECEIVED = 1_790_133_506_000_000
BOOK = ('{"type":"orderbook","code":"KRW-ETH","total_ask_size":369.9832,"total_bid_size":287.0216,'
        '"orderbook_units":[{"ask_price":3715000,"bid_price":3714000,"ask_size":8.4592,"bid_size":3.012},'
        '{"ask_price":3716000,"bid_price":3713000,"ask_size":0,"bid_size":15.399}],"level":1,'
        '"timestamp":1790133505546514,"stream_type":"SNAPSHOT"}')
TRADE = ('{"type":"trade","code":"KRW-BTC","trade_price":116208000,"trade_volume":0.0012,"ask_bid":"ASK",'
         '"trade_date":"2026-09-23","trade_time":"12:18:33","trade_timestamp":1790133513858,'
         '"timestamp":1790133514044,"sequential_id":1790133513858000001,"stream_type":"REALTIME"}')


def test_S2_2_a_bithumb_options_are_camel_case() -> None:
    body = json.loads(bithumb.subscription_request(["KRW-BTC"], only_snapshot=True, depth=3).text)
    assert body[1] == {"type": "trade", "codes": ["KRW-BTC"], "isOnlySnapshot": True, "isOnlyRealtime": False}
    assert body[2]["codes"] == ["KRW-BTC.3"]
    with pytest.raises(ValueError):
        bithumb.subscription_request(["KRW-BTC"], depth=30)  # Bithumb serves at most 15 levels


def test_orderbook_timestamp_in_microseconds_detected() -> None:
    book = bithumb.decode(BOOK, RECEIVED).records[0]
    assert isinstance(book, OrderbookRecord) and book.exchange is Exchange.BITHUMB
    assert book.event_time_us == 1790133505546514  # not multiplied by 1000
    assert len(book.asks) == 1 and len(book.bids) == 2  # the zero-size ask (dust) is dropped
    assert str(book.level) == "1"


def test_trade_timestamp_in_milliseconds() -> None:
    trade = bithumb.decode(TRADE, RECEIVED).records[0]
    assert isinstance(trade, TradeRecord)
    assert trade.trade_time_us == 1790133513858000 and trade.event_time_us == 1790133514044000
    assert trade.sequential_id == 1790133513858000001


def test_trade_date_and_time_read_as_kst() -> None:
    frame = TRADE.replace('"trade_timestamp":1790133513858,', "")
    trade = bithumb.decode(frame, RECEIVED).records[0]
    assert isinstance(trade, TradeRecord)
    assert trade.trade_time_us == 1790133513000000  # 12:18:33 KST = 03:18:33Z


def test_error_frame_and_trimmed_frame() -> None:
    assert bithumb.decode('{"error":{"name":"INVALID_PARAM","message":"x"}}', RECEIVED).kind is FrameKind.ERROR
    with pytest.raises(ValidationException, match="tms"):  # a SIMPLE book without its timestamp
        bithumb.decode('{"ty":"orderbook","cd":"KRW-BTC","tas":1,"tbs":1,"obu":[]}', RECEIVED)
