"""Seed S1.2 / S2.5-a: numbers stay exact through decode -> validate -> serialize, whatever their form.

Random orderbook and trade frames are written with prices and sizes in every JSON number form
(exponents of either case and sign, trailing zeros, zero with an exponent, integers far above
2^53) and compared with a straightforward reference: the record holds, and the Protobuf string
carries, the fixed-point notation of the wire text, digit for digit (the wire text itself when it
has no exponent), whose ``Decimal`` equals ``Decimal(text)``.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.market_data import validate_record
from domain.records import OrderbookRecord, TradeRecord
from exchanges.registry import get_adapter
from proto.krwfeed.v1 import market_data_pb2 as pb
from proto.serializer import parse, serialize

pytestmark = pytest.mark.unit
RECEIVED_US = 1_790_134_800_123_456


def reference_plain(text: str) -> str:
    """Fixed-point notation of a JSON number text, by digit arithmetic rather than ``format``."""
    sign, digits, exponent = Decimal(text).as_tuple()
    assert isinstance(exponent, int)
    body = ("".join(map(str, digits)) + "0" * max(exponent, 0)).lstrip("0") or "0"
    if exponent < 0:
        body = body.rjust(-exponent + 1, "0")
        body = f"{body[:exponent]}.{body[exponent:]}"
    return ("-" if sign else "") + body


@st.composite
def number_texts(draw: st.DrawFn) -> str:
    """A positive JSON number text in any of the forms the exchanges send."""
    whole = draw(st.one_of(st.integers(1, 10**6), st.integers(2**53, 2**80), st.just(0)))
    fraction = draw(st.text("0123456789", max_size=12))
    if whole == 0 and not fraction.strip("0"):
        fraction = fraction + "1"
    text = str(whole) + (f".{fraction}" if fraction else "")
    if draw(st.booleans()):
        text += draw(st.sampled_from(["E", "e"])) + draw(st.sampled_from(["", "+", "-"])) + str(
            draw(st.integers(0, 12)))
    return text


@st.composite
def orderbook_frames(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """A DEFAULT or SIMPLE orderbook frame with 1-30 units: strictly ordered, positive levels."""
    count = draw(st.integers(1, 30))
    asks = sorted(set(draw(st.lists(number_texts(), min_size=count, max_size=count))), key=Decimal)
    bids = sorted(set(draw(st.lists(number_texts(), min_size=count, max_size=count))), key=Decimal, reverse=True)
    # Equal values in different spellings ("1.0", "1E0") would break the strict order: keep one.
    asks = list({Decimal(t): t for t in asks}.values())
    bids = list({Decimal(t): t for t in bids}.values())
    count = min(len(asks), len(bids))
    sizes = draw(st.lists(number_texts(), min_size=2 * count, max_size=2 * count))
    simple = draw(st.booleans())
    ap, bp, as_, bs = ("ap", "bp", "as", "bs") if simple else ("ask_price", "bid_price", "ask_size", "bid_size")
    units = ",".join(f'{{"{ap}":{asks[i]},"{bp}":{bids[i]},"{as_}":{sizes[2 * i]},"{bs}":{sizes[2 * i + 1]}}}'
                     for i in range(count))
    head = ('{"ty":"orderbook","cd":"KRW-BTC","tms":1790133505546,"tas":1.5E0,"tbs":0E-8,"obu":['
            if simple else
            '{"type":"orderbook","code":"KRW-BTC","timestamp":1790133505546,"total_ask_size":1.5E0,'
            '"total_bid_size":0E-8,"orderbook_units":[')
    levels = [t for i in range(count) for t in (asks[i], sizes[2 * i])]
    levels_bid = [t for i in range(count) for t in (bids[i], sizes[2 * i + 1])]
    return head + units + "]}", levels, levels_bid


@settings(max_examples=200, deadline=None)
@given(orderbook_frames())
def test_S1_2_orderbook_numbers_exact_end_to_end(case: tuple[str, list[str], list[str]]) -> None:
    frame, ask_texts, bid_texts = case
    (record,) = get_adapter("upbit").decode(frame.encode(), RECEIVED_US).records
    assert isinstance(record, OrderbookRecord)
    validate_record(record)
    msg = parse("orderbook", serialize(record))
    assert isinstance(msg, pb.Orderbook)
    for levels, wire, texts in ((record.asks, msg.asks, ask_texts), (record.bids, msg.bids, bid_texts)):
        got = [text for level in levels for text in level]
        assert got == [reference_plain(t) for t in texts]  # same digits, trailing zeros kept
        assert [Decimal(g) for g in got] == [Decimal(t) for t in texts]
        assert [g for g, t in zip(got, texts, strict=True) if "e" not in t.lower() and g != t] == []
        assert [t for level in wire for t in (level.price, level.size)] == [reference_plain(t) for t in texts]
    assert (msg.total_ask_size, msg.total_bid_size) == ("1.5", "0.00000000")


@settings(max_examples=200, deadline=None)
@given(number_texts(), number_texts(), st.integers(0, 2**64 - 1), st.booleans())
def test_S1_2_trade_numbers_exact_end_to_end(price: str, volume: str, sequential_id: int, simple: bool) -> None:
    keys = ("ty", "cd", "tp", "tv", "ttms", "tms", "sid", "ab") if simple else (
        "type", "code", "trade_price", "trade_volume", "trade_timestamp", "timestamp", "sequential_id", "ask_bid")
    values = ('"trade"', '"KRW-BTC"', price, volume, "1730336862047", "1730336862082", str(sequential_id), '"ASK"')
    frame = "{" + ",".join(f'"{k}":{v}' for k, v in zip(keys, values, strict=True)) + "}"
    (record,) = get_adapter("bithumb").decode(frame, RECEIVED_US).records
    assert isinstance(record, TradeRecord)
    validate_record(record)
    assert (record.price, record.volume) == (reference_plain(price), reference_plain(volume))
    assert (Decimal(record.price), Decimal(record.volume)) == (Decimal(price), Decimal(volume))
    msg = parse("trade", serialize(record))
    assert isinstance(msg, pb.Trade)
    assert (msg.price, msg.volume, msg.sequential_id) == (reference_plain(price), reference_plain(volume),
                                                          sequential_id)
