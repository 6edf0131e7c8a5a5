"""Bithumb's legacy pubwss frames: string values, KST contDtm, BTC_KRW symbols, buySellGb."""
from __future__ import annotations

import json

import pytest

from domain.exceptions import ValidationException
from domain.records import OrderbookRecord, TradeRecord
from exchanges.base import FrameKind
from exchanges.bithumb_legacy import code_to_symbol, symbol_to_code
from exchanges.registry import get_adapter

pytestmark = pytest.mark.unit
legacy = get_adapter("bithumb-legacy")
RECEIVED = 1_597_355_190_000_000
TWO_TRADES = ('{"type":"transaction","content":{"list":[{"buySellGb":"1","contPrice":"485900","contQty":"0.196",'
              '"contAmt":"95236.400","contDtm":"2020-08-14 06:28:41.621909","updn":"dn","symbol":"ETH_KRW"},'
              '{"buySellGb":"2","contPrice":"486400","contQty":"5.4277","contAmt":"2640033.2800",'
              '"contDtm":"2020-08-14 06:28:42.453539","updn":"up","symbol":"ETH_KRW"}]}}')


def test_transaction_frame_holds_several_trades() -> None:
    records = legacy.decode(TWO_TRADES, RECEIVED).records
    assert len(records) == 2 and all(isinstance(r, TradeRecord) for r in records)
    assert [r.code for r in records] == ["KRW-ETH", "KRW-ETH"]


def test_buy_sell_gb_1_is_ask_taker_sold() -> None:
    first, second = legacy.decode(TWO_TRADES, RECEIVED).records
    assert isinstance(first, TradeRecord) and isinstance(second, TradeRecord)
    assert (first.side, second.side) == ("ASK", "BID")  # "1" ticked down (dn), "2" up: the docs mapping


def test_cont_dtm_is_naive_kst_with_microseconds() -> None:
    first = legacy.decode(TWO_TRADES, RECEIVED).records[0]
    assert isinstance(first, TradeRecord)
    assert first.trade_time_us == 1597354121621909  # 2020-08-13T21:28:41.621909Z
    assert str(first.price) == "485900" and str(first.volume) == "0.196" and first.sequential_id == 0


def test_symbols_normalised() -> None:
    assert symbol_to_code("btc_krw") == "KRW-BTC" and code_to_symbol("KRW-BTC") == "BTC_KRW"
    with pytest.raises(ValueError):
        symbol_to_code("BTCKRW")


def test_orderbook_snapshot_and_deltas() -> None:
    frame = ('{"type":"orderbooksnapshot","content":{"symbol":"BTC_KRW","datetime":"1790133914965948",'
             '"asks":[["116501000","0.0163"],["116510000","0"]],"bids":[["116500000","0.7074"],["116475000","0.0258"]]}}')
    book = legacy.decode(frame, RECEIVED).records[0]
    assert isinstance(book, OrderbookRecord) and book.event_time_us == 1790133914965948
    assert len(book.asks) == 1 and str(book.total_bid_size) == "0.7332"
    depth = legacy.decode('{"type":"orderbookdepth","content":{"list":[],"datetime":"1"}}', RECEIVED)
    assert depth.kind is FrameKind.IGNORED and depth.ignored_type == "orderbookdepth"


def test_status_frames() -> None:
    ok = legacy.decode('{"status":"0000","resmsg":"Connected Successfully"}', RECEIVED)
    assert ok.kind is FrameKind.STATUS and ok.extra["resmsg"] == "Connected Successfully"
    bad = legacy.decode('{"status":"5100","resmsg":"Invalid Filter Syntax"}', RECEIVED)
    assert (bad.kind, bad.error_name) == (FrameKind.ERROR, "5100")


def test_subscription_one_object_per_channel() -> None:
    request = legacy.subscription_request(["KRW-BTC", "krw-eth"])
    assert json.loads(request.text) == {"type": "transaction", "symbols": ["BTC_KRW", "ETH_KRW"]}
    assert [json.loads(t) for t in request.extra_texts] == [{"type": "orderbooksnapshot",
                                                              "symbols": ["BTC_KRW", "ETH_KRW"]}]
    with pytest.raises(ValueError):
        legacy.subscription_request(["KRW-BTC"], fmt="SIMPLE")


def test_malformed_legacy_frames_raise_validation_exception() -> None:
    for frame in ('{"type":"transaction","content":{"list":[{"symbol":"BTC_KRW"}]}}',
                  '{"type":"transaction","content":{"list":[{"symbol":"BTC_KRW","contPrice":"x","contQty":"1",'
                  '"contDtm":"2020-01-29 12:24:18.830039"}]}}', "{", '{"resmsg":"?"}'):
        with pytest.raises(ValidationException):
            legacy.decode(frame, RECEIVED)
