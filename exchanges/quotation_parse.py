"""Parsing of Upbit-style quotation frames (Upbit and Bithumb v2 share the layout) into records.

Both the DEFAULT and the SIMPLE key spellings are read; a frame says which it uses (``type`` or
``ty``). Every record is a complete top-N book or one trade; nothing here keeps state.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timezone
from operator import itemgetter
from typing import Any

from domain.records import Exchange, Levels, OrderbookRecord, TradeRecord
from exchanges.fields import (
    INT_BOUND,
    ZEROS,
    date_and_time_to_us,
    decimal_text,
    epoch_to_us,
    optional_text,
)

_UINT64_MAX = 2**64 - 1


@dataclass(frozen=True, slots=True)
class TradeKeys:
    code: str
    price: str
    volume: str
    side: str
    prev_closing_price: str
    change: str
    change_price: str
    trade_date: str
    trade_time: str
    trade_timestamp: str
    timestamp: str
    sequential_id: str
    best_ask_price: str
    best_ask_size: str
    best_bid_price: str
    best_bid_size: str
    stream_type: str


@dataclass(frozen=True, slots=True)
class OrderbookKeys:
    code: str
    total_ask_size: str
    total_bid_size: str
    units: str
    ask_price: str
    bid_price: str
    ask_size: str
    bid_size: str
    timestamp: str
    level: str
    stream_type: str


TRADE_DEFAULT = TradeKeys("code", "trade_price", "trade_volume", "ask_bid", "prev_closing_price", "change",
                          "change_price", "trade_date", "trade_time", "trade_timestamp", "timestamp",
                          "sequential_id", "best_ask_price", "best_ask_size", "best_bid_price", "best_bid_size",
                          "stream_type")
TRADE_SIMPLE = TradeKeys("cd", "tp", "tv", "ab", "pcp", "c", "cp", "td", "ttm", "ttms", "tms", "sid",
                         "bap", "bas", "bbp", "bbs", "st")
ORDERBOOK_DEFAULT = OrderbookKeys("code", "total_ask_size", "total_bid_size", "orderbook_units", "ask_price",
                                  "bid_price", "ask_size", "bid_size", "timestamp", "level", "stream_type")
ORDERBOOK_SIMPLE = OrderbookKeys("cd", "tas", "tbs", "obu", "ap", "bp", "as", "bs", "tms", "lv", "st")
# Per key spelling, made once: a unit's (ask price, ask size, bid price, bid size).
_UNIT_GETTERS: dict[str, Callable[[Any], tuple[Any, Any, Any, Any]]] = {
    k.units: itemgetter(k.ask_price, k.ask_size, k.bid_price, k.bid_size) for k in (ORDERBOOK_DEFAULT, ORDERBOOK_SIMPLE)}


def _plain_column(column: tuple[Any, ...]) -> tuple[str, ...]:
    """One column of a book's numbers as plain decimal texts."""
    if type(column[0]) is str:
        try:
            joined = "".join(column)
        except TypeError:  # texts and integers mixed, or no number at all
            return _converted(column)
        if "E" in joined or "e" in joined:
            return tuple([decimal_text(v) if "E" in v or "e" in v else v for v in column])
        return column
    return _converted(column)  # integers (Bithumb's KRW prices), or no number at all


def _converted(column: tuple[Any, ...]) -> tuple[str, ...]:
    bound = INT_BOUND
    return tuple([str(v) if type(v) is int and -bound < v < bound else
                  v if type(v) is str and "E" not in v and "e" not in v else decimal_text(v) for v in column])


_NO_LEVELS = Levels()


def _side(prices: tuple[str, ...], sizes: tuple[str, ...]) -> Levels:
    """One side's columns as Levels, leaving out the levels with a zero price or size."""
    zeros = ZEROS
    if zeros.isdisjoint(prices) and zeros.isdisjoint(sizes):
        return Levels(prices, sizes)
    kept = [(p, q) for p, q in zip(prices, sizes, strict=True) if p not in zeros and q not in zeros]
    return Levels(tuple(p for p, _ in kept), tuple(q for _, q in kept))


def _code(value: Any) -> str:
    if type(value) is not str:
        raise TypeError("code must be a string")
    # Codes arrive without the ".N" depth suffix; strip one defensively so the key stays the market.
    return value.split(".", 1)[0].upper()


def _text(value: Any) -> str:
    return value if type(value) is str else ""


def parse_trade(obj: dict[str, Any], keys: TradeKeys, exchange: Exchange, date_zone: timezone,
                received_time_us: int) -> TradeRecord:
    """One trade. ``trade_timestamp`` (ms, UTC) is the trade time; only when it is absent are the
    date/time strings used, read in ``date_zone`` (UTC on Upbit, KST on Bithumb)."""
    get = obj.get
    raw_trade_ts = get(keys.trade_timestamp)
    if raw_trade_ts is not None:
        trade_time_us = epoch_to_us(raw_trade_ts)
    else:
        trade_time_us = date_and_time_to_us(obj[keys.trade_date], obj[keys.trade_time], date_zone)
    sequential_id = obj[keys.sequential_id]
    if type(sequential_id) is not int or not 0 <= sequential_id <= _UINT64_MAX:
        raise ValueError(f"sequential_id must be an unsigned 64-bit integer, got {sequential_id!r}")
    # Positional, in the fields' order (binding 17 keywords costs a third of the construction).
    return TradeRecord(
        exchange,
        _code(obj[keys.code]),
        decimal_text(obj[keys.price]),
        decimal_text(obj[keys.volume]),
        _text(get(keys.side)),
        trade_time_us,
        epoch_to_us(obj[keys.timestamp]),  # event_time_us
        received_time_us,
        sequential_id,
        _text(get(keys.stream_type)),
        optional_text(get(keys.prev_closing_price)),
        _text(get(keys.change)),
        optional_text(get(keys.change_price)),
        optional_text(get(keys.best_ask_price)),
        optional_text(get(keys.best_ask_size)),
        optional_text(get(keys.best_bid_price)),
        optional_text(get(keys.best_bid_size)),
    )


def parse_orderbook(obj: dict[str, Any], keys: OrderbookKeys, exchange: Exchange,
                    received_time_us: int) -> OrderbookRecord:
    """A full top-N book. Unit i holds the i-th best ask and the i-th best bid; levels with a zero
    price or size (padding of thin books, dust rounded to 0) are dropped side by side."""
    # The hot spot of the whole pipeline (30-60 numbers per frame), so the book is read column by
    # column in C-level passes rather than number by number: one getter per unit (a unit that is not
    # an object, or lacks a key, raises), then per column one join, which also proves every value a
    # text. Non-integer numbers are already their wire texts and stay so; a column holding an
    # exponent form (Upbit writes large prices so) or anything but texts (integers) goes through
    # decimal_text, which is bounded and refuses what is no number. Zero levels are looked for with
    # set checks and only then filtered. The columns become the record's Levels as they are: no
    # per-level object is built. Plain-decimal form is checked by validate_record.
    rows = list(map(_UNIT_GETTERS[keys.units], obj[keys.units]))
    if rows:
        ask_prices, ask_sizes, bid_prices, bid_sizes = map(_plain_column, zip(*rows, strict=True))
        asks = _side(ask_prices, ask_sizes)
        bids = _side(bid_prices, bid_sizes)
    else:
        asks = bids = _NO_LEVELS
    level = obj.get(keys.level)
    return OrderbookRecord(  # positional, in the fields' order
        exchange,
        _code(obj[keys.code]),
        asks,
        bids,
        decimal_text(obj[keys.total_ask_size]),
        decimal_text(obj[keys.total_bid_size]),
        epoch_to_us(obj[keys.timestamp]),  # event_time_us
        received_time_us,
        _text(obj.get(keys.stream_type)),
        None if level is None else decimal_text(level),
    )
