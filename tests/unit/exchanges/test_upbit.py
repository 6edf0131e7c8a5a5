"""Seed S2.2 (parsing side) for Upbit: subscription requests, frame decoding, exact numbers."""
from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
import ujson

from domain.exceptions import ValidationException
from domain.records import Exchange, OrderbookRecord, TradeRecord
from exchanges.base import FrameKind
from exchanges.registry import get_adapter

pytestmark = pytest.mark.unit
upbit = get_adapter("upbit")
RECEIVED = 1_790_134_742_500_123

TRADE = ('{"type":"trade","code":"KRW-BTC","timestamp":1730336862082,"trade_date":"2024-10-31",'
         '"trade_time":"01:07:42","trade_timestamp":1730336862047,"trade_price":100473000.00000000,'
         '"trade_volume":0.00014208,"ask_bid":"BID","prev_closing_price":100571000.00000000,"change":"FALL",'
         '"change_price":98000.00000000,"sequential_id":17303368620470001,"best_ask_price":100473000,'
         '"best_ask_size":0.43139478,"best_bid_price":100465000,"best_bid_size":0.01990656,"stream_type":"SNAPSHOT"}')
BOOK = ('{"type":"orderbook","code":"KRW-BTC","timestamp":1790134742106,"total_ask_size":2.51469375,'
        '"total_bid_size":1.63815297,"orderbook_units":[{"ask_price":1.16539E8,"bid_price":1.16538E8,'
        '"ask_size":0.02054761,"bid_size":0.08120946},{"ask_price":1.16542E8,"bid_price":1.16537E8,'
        '"ask_size":0.00077720,"bid_size":0.01129382},{"ask_price":0,"bid_price":0,"ask_size":0,"bid_size":0}],'
        '"stream_type":"SNAPSHOT","level":0}')
SIMPLE_BOOK = ('{"ty":"orderbook","cd":"KRW-BTC","tms":1790134773006,"tas":0.48514983,"tbs":2.2403413,"obu":'
               '[{"ap":116606000,"bp":116534000,"as":0.06288509,"bs":7.9276E-4},{"ap":116609000,"bp":116521000,'
               '"as":5.0E-4,"bs":0.01624318}],"st":"SNAPSHOT","lv":0}')


def test_S2_2_a_subscription_matches_upbit_spec() -> None:
    request = upbit.subscription_request(["krw-btc", "KRW-ETH", "KRW-BTC"])
    body = json.loads(request.text)
    assert body == [
        {"ticket": request.ticket},
        {"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"], "is_only_snapshot": False, "is_only_realtime": False},
        {"type": "orderbook", "codes": ["KRW-BTC", "KRW-ETH"], "is_only_snapshot": False, "is_only_realtime": False},
        {"format": "DEFAULT"},
    ]
    assert request.codes == ("KRW-BTC", "KRW-ETH") and request.extra_texts == ()


def test_S2_2_a_options_depth_and_format() -> None:
    body = json.loads(upbit.subscription_request(["KRW-BTC"], ["orderbook"], fmt="simple", only_realtime=True,
                                                 depth=15).text)
    assert body[1] == {"type": "orderbook", "codes": ["KRW-BTC.15"], "is_only_snapshot": False,
                       "is_only_realtime": True}
    assert body[-1] == {"format": "SIMPLE"} and len(body) == 3
    trade_only = json.loads(upbit.subscription_request(["KRW-BTC"], ["trade"], depth=5).text)
    assert trade_only[1]["codes"] == ["KRW-BTC"]  # the suffix applies to orderbook codes only
    for bad in ({"depth": 20}, {"fmt": "JSON_LIST"}, {"only_realtime": True, "only_snapshot": True}):
        with pytest.raises(ValueError):
            upbit.subscription_request(["KRW-BTC"], **bad)
    with pytest.raises(ValueError):
        upbit.subscription_request([])
    with pytest.raises(ValueError):
        upbit.subscription_request(["KRW-BTC"], ["ticker"])


def test_S2_2_b_ticket_is_a_fresh_uuid_each_time() -> None:
    tickets = {upbit.subscription_request(["KRW-BTC"]).ticket for _ in range(50)}
    assert len(tickets) == 50
    assert all(uuid.UUID(t).version == 4 for t in tickets)


def test_S2_2_l_request_names_its_ticket_and_codes_for_bookkeeping() -> None:
    request = upbit.subscription_request(["KRW-BTC", "KRW-XRP"])
    assert json.loads(request.text)[0]["ticket"] == request.ticket
    assert request.codes == ("KRW-BTC", "KRW-XRP")


def test_S2_2_c_binary_frames_decoded_as_utf8() -> None:
    from_bytes = upbit.decode(TRADE.encode("utf-8"), RECEIVED)
    from_text = upbit.decode(TRADE, RECEIVED)
    assert from_bytes == from_text and from_bytes.kind is FrameKind.DATA
    korean = '{"error":{"name":"NO_CODES","message":"codes 필드가 존재하지 않습니다."}}'.encode()
    error = upbit.decode(bytes(bytearray(korean)), RECEIVED)
    assert error.kind is FrameKind.ERROR and error.error_message == "codes 필드가 존재하지 않습니다."
    with pytest.raises(ValidationException, match="UTF-8"):
        upbit.decode(b'{"type":"trade","code":"\xff"}', RECEIVED)


def test_trade_fields_mapped_exactly() -> None:
    record = upbit.decode(TRADE, RECEIVED).records[0]
    assert record == TradeRecord(
        Exchange.UPBIT, "KRW-BTC", "100473000.00000000", "0.00014208", "BID",
        1730336862047000, 1730336862082000, RECEIVED, 17303368620470001, "SNAPSHOT", "100571000.00000000",
        "FALL", "98000.00000000", "100473000", "0.43139478", "100465000", "0.01990656")


def test_S2_2_j_numbers_stay_exact() -> None:
    book = upbit.decode(BOOK, RECEIVED).records[0]
    assert isinstance(book, OrderbookRecord)
    assert book.asks[0].price == "116539000" and book.asks[1].size == "0.00077720"  # 1.16539E8 written out
    simple = upbit.decode(SIMPLE_BOOK, RECEIVED).records[0]
    assert isinstance(simple, OrderbookRecord)
    assert simple.bids[0].size == "0.00079276" and simple.asks[1].size == "0.00050"  # 7.9276E-4, 5.0E-4
    trade = upbit.decode(TRADE, RECEIVED).records[0]
    assert isinstance(trade, TradeRecord) and trade.sequential_id == 17303368620470001 > 2**53
    # A float parser would corrupt both of these; the wire text's value survives here.
    precise = TRADE.replace("0.00014208", "0.1000000000000000055511").replace("100473000.00000000",
                                                                            "116539000.123456789012")
    assert ujson.loads(precise)["trade_volume"] != Decimal("0.1000000000000000055511")
    exact = upbit.decode(precise, RECEIVED).records[0]
    assert isinstance(exact, TradeRecord)
    assert exact.volume == "0.1000000000000000055511" and exact.price == "116539000.123456789012"
    zero = upbit.decode(TRADE.replace('"change_price":98000.00000000', '"change_price":0E-8'), RECEIVED)
    assert zero.records[0].change_price == "0.00000000"  # type: ignore[union-attr]


def test_zero_padding_levels_dropped() -> None:
    book = upbit.decode(BOOK, RECEIVED).records[0]
    assert isinstance(book, OrderbookRecord) and len(book.asks) == 2 and len(book.bids) == 2
    assert [lvl.price for lvl in book.bids] == ["116538000", "116537000"]


def test_S2_2_f_invalid_json_raises_validation_exception_with_context() -> None:
    for frame in (b"not json", b'{"type":"trade"', b"", b"[1,2", "{\"type\": tru}"):
        with pytest.raises(ValidationException) as info:
            upbit.decode(frame, RECEIVED)
        assert info.value.context["exchange"] == "upbit" and info.value.__cause__ is not None
    # the adapter is stateless: the next good frame decodes normally
    assert upbit.decode(TRADE, RECEIVED).kind is FrameKind.DATA


@pytest.mark.parametrize("broken", [
    TRADE.replace('"sequential_id":17303368620470001,', ""),
    TRADE.replace('"trade_price":100473000.00000000', '"trade_price":"abc"'),
    TRADE.replace('"trade_price":100473000.00000000', '"trade_price":null'),
    TRADE.replace('"trade_price":100473000.00000000', '"trade_price":true'),
    TRADE.replace('"timestamp":1730336862082', '"timestamp":17'),
    TRADE.replace('"sequential_id":17303368620470001', '"sequential_id":-1'),
    BOOK.replace('"total_ask_size":2.51469375,', ""),
    BOOK.replace('"orderbook_units":[', '"orderbook_units":[{"ask_price":1},'),
    '{"type":"trade"}', "[1]", '"text"', '{"nothing":1}',
])
def test_missing_or_invalid_fields_raise_validation_exception(broken: str) -> None:
    with pytest.raises(ValidationException) as info:
        upbit.decode(broken, RECEIVED)
    assert info.value.context["exchange"] == "upbit"


def test_S2_2_i_other_data_types_ignored_and_named() -> None:
    ticker = upbit.decode('{"type":"ticker","code":"KRW-BTC","trade_price":1}', RECEIVED)
    assert ticker.kind is FrameKind.IGNORED and ticker.ignored_type == "ticker" and ticker.records == ()
    candle = upbit.decode('{"ty":"candle.1s","cd":"KRW-BTC"}', RECEIVED)
    assert candle.ignored_type == "candle.1s"


def test_status_and_error_frames_classified() -> None:
    status = upbit.decode(b'{"status":"UP"}', RECEIVED)
    assert status.kind is FrameKind.STATUS and status.status == "UP"
    error = upbit.decode('{"error":{"message":"Format 이 맞지 않습니다.","name":"WRONG_FORMAT"}}', RECEIVED)
    assert (error.kind, error.error_name) == (FrameKind.ERROR, "WRONG_FORMAT")


def test_trade_dates_are_utc_when_no_trade_timestamp() -> None:
    frame = TRADE.replace('"trade_timestamp":1730336862047,', "")
    record = upbit.decode(frame, RECEIVED).records[0]
    assert isinstance(record, TradeRecord) and record.trade_time_us == 1730336862000000  # 01:07:42Z


def test_list_format_frames_carry_several_records() -> None:
    frame = upbit.decode(f"[{TRADE},{BOOK}]", RECEIVED)
    assert frame.kind is FrameKind.DATA and [r.data_type.value for r in frame.records] == ["trade", "orderbook"]
