"""REST quotation answers read into records: trade ticks become the same TradeRecord the WebSocket
path makes of the same trade (same exactness rules), and the market list is filtered by quote."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from domain.exceptions import ValidationException
from domain.records import Exchange
from exchanges.jsonparse import loads_exact
from exchanges.registry import get_adapter
from exchanges.rest import (
    MAX_TICKS_PER_REQUEST,
    TRADE_REQUESTS_PER_SECOND,
    parse_market_list,
    parse_trade_tick,
    parse_trade_ticks,
    trade_ticks_query,
)

pytestmark = pytest.mark.unit
RECEIVED = 1_790_134_742_500_123
FIXTURES = Path("/work/shared/fixtures")

# The documented trades of the WebSocket fixtures (upbit_trade.jsonl lines 1-2), as REST ticks carry
# them: the documented REST fields, the same number spellings, change_price signed.
REST_PAGE = (
    '[{"market":"KRW-BTC","trade_date_utc":"2024-10-31","trade_time_utc":"01:07:42","timestamp":1730336862047,'
    '"trade_price":100473000.00000000,"trade_volume":0.00014208,"prev_closing_price":100571000.00000000,'
    '"change_price":-98000.00000000,"ask_bid":"BID","sequential_id":17303368620470000},'
    '{"market":"KRW-BTC","trade_date_utc":"2023-02-21","trade_time_utc":"07:40:20","timestamp":1676965220395,'
    '"trade_price":32292000,"trade_volume":0.03096742,"prev_closing_price":31883000.00000000,'
    '"change_price":409000.00000000,"ask_bid":"BID","sequential_id":1676965220395000}]'
)


def _ws_record(line: int):  # type: ignore[no-untyped-def]
    frame = (FIXTURES / "upbit_trade.jsonl").read_bytes().splitlines()[line]
    return get_adapter("upbit").decode(frame, RECEIVED).records[0]


def test_rest_ticks_are_the_websocket_trades_but_for_what_rest_lacks() -> None:
    page = parse_trade_ticks(REST_PAGE, Exchange.UPBIT, RECEIVED, code="KRW-BTC")
    assert page.rejected == () and page.size == 2
    for record, line in zip(page.records, (1, 0), strict=True):
        streamed = _ws_record(line)
        # REST has no message time of its own, no stream type and no best bid/ask
        expected = dataclasses.replace(streamed, event_time_us=streamed.trade_time_us, stream_type="",
                                       best_ask_price=None, best_ask_size=None, best_bid_price=None,
                                       best_bid_size=None)
        assert record == expected


def test_golden_values_exact() -> None:
    newest, oldest = parse_trade_ticks(REST_PAGE, Exchange.UPBIT, RECEIVED).records
    assert (newest.price, newest.volume, newest.prev_closing_price) == ("100473000.00000000", "0.00014208",
                                                                      "100571000.00000000")
    assert (newest.change, newest.change_price) == ("FALL", "98000.00000000")
    assert newest.trade_time_us == 1_730_336_862_047_000 and newest.sequential_id == 17303368620470000
    assert (oldest.price, oldest.change, oldest.change_price) == ("32292000", "RISE", "409000.00000000")


def test_ids_above_2_53_and_exponents_stay_exact() -> None:
    tick = ('[{"market":"KRW-SHIB","trade_date_utc":"2026-09-23","trade_time_utc":"03:18:33","timestamp":'
            '1790133513000,"trade_price":1.723E-2,"trade_volume":1.0E+8,"prev_closing_price":0.01723,'
            '"change_price":0E-8,"ask_bid":"ASK","sequential_id":17901335130000007}]')
    (record,) = parse_trade_ticks(tick, Exchange.BITHUMB, RECEIVED).records
    assert record.sequential_id == 17901335130000007 > 2**53
    assert (record.price, record.volume, record.change, record.change_price) == ("0.01723", "100000000", "EVEN",
                                                                                 "0.00000000")
    assert record.exchange is Exchange.BITHUMB and record.side == "ASK"


def test_date_and_time_are_utc_on_both_exchanges_when_timestamp_is_absent() -> None:
    obj = loads_exact('{"market":"KRW-BTC","trade_date_utc":"2026-09-23","trade_time_utc":"03:18:33",'
                      '"trade_price":1,"trade_volume":1,"ask_bid":"BID","sequential_id":5}')
    for exchange in Exchange:
        assert parse_trade_tick(obj, exchange, RECEIVED).trade_time_us == 1_790_133_513_000_000


@pytest.mark.parametrize("bad", [
    {"sequential_id": 1.5}, {"sequential_id": -1}, {"sequential_id": 2**64}, {"sequential_id": "17"},
    {"trade_price": "abc"}, {"trade_price": None}, {"market": "krw-btc"}, {"ask_bid": "SELL"},
    {"timestamp": 12}, {"trade_volume": True},
])
def test_a_malformed_tick_is_refused_alone(bad: dict[str, object]) -> None:
    good = json.loads(REST_PAGE)[0]
    page = parse_trade_ticks(json.dumps([{**good, **bad}, good]), Exchange.UPBIT, RECEIVED, code="KRW-BTC")
    assert len(page.records) == 1 and len(page.rejected) == 1 and page.size == 2
    assert isinstance(page.rejected[0], ValidationException)


def test_a_tick_of_another_market_is_refused() -> None:
    page = parse_trade_ticks(REST_PAGE, Exchange.UPBIT, RECEIVED, code="KRW-ETH")
    assert page.records == () and len(page.rejected) == 2


@pytest.mark.parametrize("body", ['{"error":{"name":"too_many_requests","message":"Too many API requests."}}',
                                  "not json", '{"market":"KRW-BTC"}', b"\xff\xfe"])
def test_an_unusable_answer_raises(body: str | bytes) -> None:
    with pytest.raises(ValidationException):
        parse_trade_ticks(body, Exchange.UPBIT, RECEIVED)


def test_an_empty_page_is_the_end_of_the_history() -> None:
    assert parse_trade_ticks(b"[]", Exchange.UPBIT, RECEIVED).size == 0


def test_trade_ticks_query() -> None:
    assert trade_ticks_query("KRW-BTC", 500) == {"market": "KRW-BTC", "count": "500"}
    assert trade_ticks_query("KRW-BTC", 10, cursor=17303368620470000, days_ago=1) == {
        "market": "KRW-BTC", "count": "10", "cursor": "17303368620470000", "days_ago": "1"}
    for bad in ({"count": 0}, {"count": MAX_TICKS_PER_REQUEST + 1}, {"days_ago": 8}, {"days_ago": 0},
                {"cursor": -1}):
        with pytest.raises(ValueError):
            trade_ticks_query("KRW-BTC", **{"count": 1, **bad})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        trade_ticks_query("krw-btc", 1)
    assert TRADE_REQUESTS_PER_SECOND == {Exchange.UPBIT: 10, Exchange.BITHUMB: 150}


MARKETS = ('[{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin"},'
           '{"market":"BTC-ETH","korean_name":"이더리움","english_name":"Ethereum"},'
           '{"market":"USDT-BTC","korean_name":"비트코인","english_name":"Bitcoin"},'
           '{"market":"KRW-ETH","korean_name":"이더리움","english_name":"Ethereum",'
           '"market_event":{"warning":false,"caution":{"PRICE_FLUCTUATIONS":false}}},'
           '{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin"}]')


def test_market_list_keeps_the_wanted_quotes_in_listing_order() -> None:
    assert parse_market_list(MARKETS.encode(), Exchange.UPBIT) == ("KRW-BTC", "KRW-ETH")
    assert parse_market_list(MARKETS, Exchange.UPBIT, ["krw", "USDT"]) == ("KRW-BTC", "USDT-BTC", "KRW-ETH")
    assert parse_market_list(MARKETS, Exchange.UPBIT, []) == ()


@pytest.mark.parametrize("body", ['[{"market":"KRW-BTC"},{"korean_name":"x"}]', '[{"market":"krw-btc"}]',
                                  '[1]', '{"error":{"name":"500","message":"x"}}', ""])
def test_a_market_list_that_cannot_be_trusted_in_full_raises(body: str) -> None:
    with pytest.raises(ValidationException):
        parse_market_list(body, Exchange.BITHUMB)
