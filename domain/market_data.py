"""The market data message the service streams, and the validation applied to every parsed record.

Exchange adapters turn frames into ``TradeRecord``/``OrderbookRecord`` values; ``validate_record``
checks each of those before it is serialised, so the same rules hold whichever exchange the data came
from. ``normalise_code`` is the one rule for market codes (configuration and records alike).

``MarketDataMessage`` is one record as it is published: its envelope (exchange, data type, market,
receive time) and its serialised bytes. It is what a connection streams
(``connectors.websocket_connector``), what the record channel carries from connector to buffer to
producer, and what a producer hands to Kafka.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from operator import attrgetter, gt, lt

from domain.exceptions import ValidationException
from domain.records import (
    MAX_NUMBER_CHARS,
    PLAIN_CHARS,
    PLAIN_NUMBER,
    DataType,
    Exchange,
    Levels,
    MarketRecord,
    OrderbookRecord,
    PriceLevel,
    TradeRecord,
    plain_decimals,
)
from domain.slot_init import slot_init

DEFAULT_QUOTE_CURRENCIES: tuple[str, ...] = ("KRW",)
SOURCE_STREAM = ""  # the source of a streamed record: no ``source`` header
SOURCE_REST = "rest"  # the source of a trade recovered over REST after a reconnect
DATA_TYPES: frozenset[str] = frozenset(t.value for t in DataType)
EXCHANGES: frozenset[str] = frozenset(e.value for e in Exchange)

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


@slot_init
@dataclass(frozen=True, slots=True, repr=False)
class MarketDataMessage:
    """One market data record ready for Kafka: key = ``code``, value = ``raw_data``.

    Serialising in the connector keeps every later hop cheap (bytes frame and copy cheaply) and
    leaves the producers nothing to do but send. The receive time is kept as integer UTC
    microseconds, the unit of every record time and of the buffer's TTL; ``received_timestamp``
    gives it as a datetime. Building one checks nothing, since the connector builds it from a record
    that ``validate_record`` has already passed; ``validate()`` is for callers that want the checks.
    """

    exchange: str  # Exchange value
    data_type: str  # DataType value: "trade" | "orderbook"
    code: str  # normalised, e.g. "KRW-BTC"; the Kafka key
    raw_data: bytes  # the record as published: serialised krwfeed.v1 Trade or Orderbook
    received_time_us: int  # when krwfeed read the frame; drives the TTL and the latency metric
    sequential_id: int = 0  # trades only; lets tests and dedupe name a trade
    # How krwfeed got the record: "" from the exchange's stream, SOURCE_REST ("rest") recovered by
    # the REST backfill after a reconnect. Published as the Kafka header ``source`` when set.
    source: str = ""

    @property
    def received_timestamp(self) -> datetime:
        """The receive time as a timezone-aware UTC datetime (exact to the microsecond)."""
        return _EPOCH + timedelta(microseconds=self.received_time_us)

    def validate(self, quote_currencies: tuple[str, ...] = DEFAULT_QUOTE_CURRENCIES) -> MarketDataMessage:
        """Return the message with its code normalised (upper case; a copy when that changes it) or
        raise ``ValidationException``: known exchange, trade or orderbook, an accepted market code,
        non-empty bytes, a positive receive time."""
        context = {"exchange": self.exchange, "code": self.code, "data_type": self.data_type}
        if self.exchange not in EXCHANGES:
            raise ValidationException("unknown exchange", **context)
        if self.data_type not in DATA_TYPES:
            raise ValidationException("data type must be trade or orderbook", **context)
        code = normalise_code(self.code, quote_currencies)
        if not isinstance(self.raw_data, bytes) or not self.raw_data:
            raise ValidationException("raw_data is empty or not bytes", **context)
        if type(self.received_time_us) is not int or self.received_time_us <= 0:
            raise ValidationException("received_time_us must be positive UTC microseconds",
                                      value=self.received_time_us, **context)
        return self if code == self.code else replace(self, code=code)

    def __repr__(self) -> str:  # the bytes would make logs and actor traces unreadable
        return (f"MarketDataMessage({self.exchange}:{self.code} {self.data_type} "
                f"#{self.sequential_id} {len(self.raw_data)} B @{self.received_time_us}us"
                f"{' via ' + self.source if self.source else ''})")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# Validation runs on every record, on the hot path, so each rule is first checked for all of a
# record's numbers at once in C-level passes and confirmed exactly, text by text with Decimal, only
# when those cannot decide. Form, length and sign are decided on the texts themselves
# (domain.records.plain_decimals), exactly. Order is decided with floats: every text is then a
# plain decimal of at most MAX_NUMBER_CHARS characters, so its float is finite and positive when the
# value is, and rounding to the nearest float never reverses an order: float(a) < float(b) implies
# a < b. Only ties (equal floats) are settled with Decimal, and so is every refusal, which then
# names the field and its value.


def _exact(text: object, field: str, record: MarketRecord) -> Decimal:
    """One decimal text as an exact Decimal, or a refusal naming the field."""
    if (type(text) is str and text and not text.strip(PLAIN_CHARS) and text.count(".") <= 1 and text != "."
            and len(text) <= MAX_NUMBER_CHARS):
        return Decimal(text)
    negative = type(text) is str and text.startswith("-") and plain_decimals((text[1:],))
    raise ValidationException(f"{field} must not be negative" if negative else
                              f"{field} is not a decimal in plain notation", exchange=record.exchange,
                              code=record.code, data_type=record.data_type.value, field=field, value=text)


def _check_book(record: OrderbookRecord) -> None:
    """Both sides and the totals at once, column by column: one pass over all the texts for form,
    length and sign, one float pass over the prices for order. No per-level object is built.

    The pass asks the totals to be positive too, more than the rule does (a plain decimal, zero
    allowed), so a book it accepts is valid; a book with a zero total is decided by the exact checks.
    """
    asks, bids = record.asks, record.bids
    ask_prices, bid_prices = asks.prices, bids.prices
    if plain_decimals((*ask_prices, *bid_prices, *asks.sizes, *bids.sizes, record.total_ask_size,
                       record.total_bid_size), positive=True):
        ap, bp = list(map(float, ask_prices)), list(map(float, bid_prices))
        if all(map(lt, ap, islice(ap, 1, None))) and all(map(gt, bp, islice(bp, 1, None))):
            return
    _check_levels_exactly(asks, "ask", True, record)
    _check_levels_exactly(bids, "bid", False, record)
    _exact(record.total_ask_size, "total_ask_size", record)
    _exact(record.total_bid_size, "total_bid_size", record)


def _check_levels_exactly(levels: Levels, side: str, ascending: bool,
                          record: OrderbookRecord) -> None:
    previous: Decimal | None = None
    for index, (price_text, size_text) in enumerate(levels):
        price = _exact(price_text, f"{side}s[{index}].price", record)
        size = _exact(size_text, f"{side}s[{index}].size", record)
        if not (price > _ZERO and size > _ZERO):
            field = f"{side}s[{index}].{'price' if not price > _ZERO else 'size'}"
            raise ValidationException(
                f"{side} level must have a positive price and size", exchange=record.exchange, code=record.code,
                data_type=DataType.ORDERBOOK.value, field=field, value=PriceLevel(price_text, size_text),
            )
        if previous is not None and (price <= previous if ascending else price >= previous):
            order = "ascending" if ascending else "descending"
            raise ValidationException(
                f"{side} prices must be strictly {order}", exchange=record.exchange, code=record.code,
                data_type=DataType.ORDERBOOK.value, field=f"{side}s[{index}].price", value=price_text,
            )
        previous = price


_TRADE_OPTIONAL = ("prev_closing_price", "change_price", "best_ask_price", "best_ask_size", "best_bid_price",
                   "best_bid_size")
_optional_of = attrgetter(*_TRADE_OPTIONAL)


def _check_trade(record: TradeRecord) -> None:
    optional = _optional_of(record)
    price, volume = record.price, record.volume
    # every text a plain decimal (so never negative), and price and volume above zero
    if (plain_decimals((price, volume, *[text for text in optional if text is not None]))
            and price.strip("0.") and volume.strip("0.")):
        return
    for field in ("price", "volume"):
        if not _exact(getattr(record, field), field, record) > _ZERO:
            raise ValidationException(f"trade {field} must be positive", exchange=record.exchange,
                                      code=record.code, data_type=DataType.TRADE.value, field=field, value=getattr(record, field))
    for field, text in zip(_TRADE_OPTIONAL, optional, strict=True):
        if text is not None:
            _exact(text, field, record)


def validate_record(record: MarketRecord, quote_currencies: tuple[str, ...] = DEFAULT_QUOTE_CURRENCIES) -> MarketRecord:
    """Check a parsed record; return it unchanged or raise ``ValidationException``.

    Rules: accepted market code; every decimal an exact text in plain notation of at most
    ``MAX_NUMBER_CHARS`` characters (hence never negative or NaN); positive trade prices and volumes and positive level prices and sizes; asks
    strictly ascending, bids strictly descending; positive times. A refusal names the field and
    its value.
    """
    # The rules are checked here rather than in a helper called from here: this runs on every
    # record, and the extra call cost about 0.2 us of the 2-3 a record takes.
    try:
        code = normalise_code(record.code, quote_currencies)
        if code != record.code:
            raise ValidationException("record code is not normalised", exchange=record.exchange, code=record.code)
        if type(record) is TradeRecord:
            _check_trade(record)
            times: tuple[int, ...] = (record.trade_time_us, record.event_time_us, record.received_time_us)
        elif type(record) is OrderbookRecord:
            _check_book(record)
            level = record.level
            if level is not None and not (type(level) is str and len(level) <= MAX_NUMBER_CHARS
                                          and PLAIN_NUMBER.fullmatch(level)):
                _exact(level, "level", record)
            times = (record.event_time_us, record.received_time_us)
        else:
            raise ValidationException("not a market record", value=type(record).__name__)
        if min(times) <= 0:
            raise ValidationException("record times must be positive microseconds", exchange=record.exchange,
                                      code=code, data_type=record.data_type.value, field="time", value=times)
        return record
    except (ArithmeticError, TypeError) as err:
        raise ValidationException(f"record holds a value that is not a number: {err!r}",
                                  exchange=record.exchange, code=record.code) from err
