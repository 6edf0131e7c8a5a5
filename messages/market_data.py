"""The raw-frame envelope and the validation applied to every parsed record (seed S1.2).

``MarketDataMessage`` is what a connector streams: one frame as read from the socket, with the
exchange, the data type and market it concerns and when krwfeed read it. Exchange adapters turn
frames into ``TradeRecord``/``OrderbookRecord`` values; ``validate_record`` checks each of those
before it is serialised, so the same rules hold whichever exchange the data came from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from messages.exceptions import ValidationException
from messages.records import MarketRecord, OrderbookRecord, PriceLevel, TradeRecord

DEFAULT_QUOTE_CURRENCIES: tuple[str, ...] = ("KRW",)
DATA_TYPES: frozenset[str] = frozenset({"trade", "orderbook"})
EXCHANGES: frozenset[str] = frozenset({"upbit", "bithumb"})

# Upbit and Bithumb v2 spell markets {QUOTE}-{BASE}: KRW-BTC, BTC-ETH, USDT-BTC.
_CODE = re.compile(r"^([A-Z0-9]{2,10})-([A-Z0-9]{1,20})$")
# KRW is only ever a quote currency, so "BTC-KRW" is a reversed code, never a market.
_NEVER_BASE = frozenset({"KRW"})
_ZERO = Decimal(0)


def normalise_code(code: object, quote_currencies: tuple[str, ...] = DEFAULT_QUOTE_CURRENCIES) -> str:
    """Upper-case a market code and check it is ``{QUOTE}-{BASE}`` with an accepted quote."""
    if isinstance(code, str):
        return _normalise_str(code, tuple(quote_currencies))
    raise ValidationException("market code is empty", code=code)


# Every record passes through here; a market set is small, so remember the answers (failures,
# being exceptions, are not cached).
@lru_cache(maxsize=4096)
def _normalise_str(code: str, quote_currencies: tuple[str, ...]) -> str:
    if not code.strip():
        raise ValidationException("market code is empty", code=code)
    upper = code.strip().upper()
    match = _CODE.match(upper)
    if match is None:
        raise ValidationException("market code is not {QUOTE}-{BASE}, e.g. KRW-BTC", code=code)
    quote, base = match.groups()
    if base in _NEVER_BASE or base == quote:
        raise ValidationException("market code is reversed or repeats its currency", code=code)
    if quote not in quote_currencies:
        raise ValidationException(
            "market code's quote currency is not accepted", code=code, accepted=quote_currencies
        )
    return upper


@dataclass(frozen=True, slots=True)
class MarketDataMessage:
    exchange: str
    data_type: str  # "trade" | "orderbook"
    code: str
    raw_data: bytes | str  # the frame exactly as read
    received_timestamp: datetime  # timezone-aware UTC

    def validate(self, quote_currencies: tuple[str, ...] = DEFAULT_QUOTE_CURRENCIES) -> MarketDataMessage:
        """Return a normalised copy (upper-case code, UTC timestamp) or raise ``ValidationException``."""
        context = {"exchange": self.exchange, "code": self.code, "data_type": self.data_type}
        if self.exchange not in EXCHANGES:
            raise ValidationException("unknown exchange", **context)
        if self.data_type not in DATA_TYPES:
            raise ValidationException("data type must be trade or orderbook", **context)
        code = normalise_code(self.code, quote_currencies)
        if not isinstance(self.raw_data, bytes | str) or not self.raw_data:
            raise ValidationException("raw_data is empty", **context)
        stamp = self.received_timestamp
        if not isinstance(stamp, datetime) or stamp.tzinfo is None or stamp.utcoffset() is None:
            raise ValidationException("received_timestamp must be timezone-aware", value=stamp, **context)
        if stamp.utcoffset() != timedelta(0):
            stamp = stamp.astimezone(UTC)
        return replace(self, code=code, received_timestamp=stamp)

    @property
    def received_time_us(self) -> int:
        delta = self.received_timestamp - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _check_levels(levels: tuple[PriceLevel, ...], side: str, ascending: bool, record: OrderbookRecord) -> None:
    previous: Decimal | None = None
    # Unpacking the named tuple is measurably faster than level.price/level.size on CPython 3.11.
    for price, size in levels:
        if not (price > _ZERO and size > _ZERO):
            raise ValidationException(
                f"{side} level must have a positive price and size",
                exchange=record.exchange, code=record.code, data_type="orderbook", value=PriceLevel(price, size),
            )
        if previous is not None and (price <= previous if ascending else price >= previous):
            order = "ascending" if ascending else "descending"
            raise ValidationException(
                f"{side} prices must be strictly {order}",
                exchange=record.exchange, code=record.code, data_type="orderbook", value=price,
            )
        previous = price


def _check_optional(record: TradeRecord) -> None:
    for name in ("prev_closing_price", "change_price", "best_ask_price", "best_ask_size",
                 "best_bid_price", "best_bid_size"):
        value = getattr(record, name)
        if value is not None and not value >= _ZERO:
            raise ValidationException(f"{name} must not be negative", exchange=record.exchange,
                                      code=record.code, data_type="trade", value=value)


def validate_record(record: MarketRecord, quote_currencies: tuple[str, ...] = DEFAULT_QUOTE_CURRENCIES) -> MarketRecord:
    """Check a parsed record; return it unchanged or raise ``ValidationException``.

    Rules: accepted market code; positive prices and sizes; asks strictly ascending, bids strictly
    descending; positive times. NaN (which Decimal refuses to compare) is refused too.
    """
    try:
        return _validate(record, quote_currencies)
    except (ArithmeticError, TypeError) as err:
        raise ValidationException(f"record holds a value that is not a number: {err!r}",
                                  exchange=record.exchange, code=record.code) from err


def _validate(record: MarketRecord, quote_currencies: tuple[str, ...]) -> MarketRecord:
    code = normalise_code(record.code, quote_currencies)
    if code != record.code:
        raise ValidationException("record code is not normalised", exchange=record.exchange, code=record.code)
    if isinstance(record, TradeRecord):
        if not (record.price > _ZERO and record.volume > _ZERO):
            raise ValidationException("trade price and volume must be positive", exchange=record.exchange,
                                      code=code, data_type="trade", value=(record.price, record.volume))
        _check_optional(record)
        times: tuple[int, ...] = (record.trade_time_us, record.event_time_us, record.received_time_us)
    else:
        _check_levels(record.asks, "ask", True, record)
        _check_levels(record.bids, "bid", False, record)
        if not (record.total_ask_size >= _ZERO and record.total_bid_size >= _ZERO):
            raise ValidationException("orderbook totals must not be negative", exchange=record.exchange,
                                      code=code, data_type="orderbook")
        times = (record.event_time_us, record.received_time_us)
    if min(times) <= 0:
        raise ValidationException("record times must be positive microseconds", exchange=record.exchange,
                                  code=code, data_type=record.data_type.value, value=times)
    return record
