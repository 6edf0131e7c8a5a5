"""Normalised market data records: what an exchange adapter produces and the serializer consumes.

Prices and sizes are **exact decimal texts in plain notation** (ASCII digits with at most one
point: no sign, no exponent), the exchange's own wire text whenever it was already in that form
("0.0010" stays "0.0010"; 1.5E-4 becomes "0.00015"). Carrying the text, rather than a ``Decimal``
built from it and printed again, is what keeps parsing and serialising cheap; ``Decimal(text)`` is
always the exact value. Every time is an integer count of **microseconds since the Unix epoch,
UTC** (the ``_us`` suffix), so millisecond and microsecond exchange clocks both survive without loss.

Once validated, a record is serialised into a ``domain.market_data.MarketDataMessage``: the form
it travels and is published in.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

# The characters of a decimal text in plain notation (with at most one point and one digit at least).
PLAIN_CHARS = "0123456789."
# The longest decimal text a record carries (real prices and sizes need about 20 digits and 18
# places). Adapters refuse longer numbers before writing them out; validation refuses longer texts.
MAX_NUMBER_CHARS = 64
_PLAIN_BYTES = PLAIN_CHARS.encode()


def only_plain_chars(text: str) -> bool:
    """Whether ``text`` holds nothing but ASCII digits and points (checked on a whole side of a book
    at once: ``bytes.translate`` deletes them in one fast C pass, ``str.strip(chars)`` is ten times
    slower)."""
    return text.isascii() and not text.encode().translate(None, _PLAIN_BYTES)


class DataType(str, Enum):  # noqa: UP042 - contract kept as is; StrEnum would change str()
    TRADE = "trade"
    ORDERBOOK = "orderbook"


class Exchange(str, Enum):  # noqa: UP042 - contract kept as is; StrEnum would change str()
    UPBIT = "upbit"
    BITHUMB = "bithumb"


class PriceLevel(NamedTuple):
    """One price level. A named tuple rather than a frozen dataclass: books carry 30-60 of them and
    a tuple is several times cheaper to create; it is just as immutable and compares by value."""

    price: str  # exact decimal text, plain notation
    size: str


@dataclass(frozen=True, slots=True)
class TradeRecord:
    exchange: Exchange
    code: str  # normalised, e.g. "KRW-BTC"
    price: str  # exact decimal text, plain notation, like every price and size below
    volume: str
    side: str  # "ASK" (taker sold), "BID" (taker bought) or "" when unknown
    trade_time_us: int  # exchange trade time
    event_time_us: int  # exchange message time
    received_time_us: int  # when krwfeed read the frame
    sequential_id: int  # 0 when the exchange gives none (Bithumb legacy)
    stream_type: str  # "SNAPSHOT", "REALTIME" or ""
    prev_closing_price: str | None = None
    change: str = ""  # "RISE", "EVEN", "FALL" or ""
    change_price: str | None = None
    best_ask_price: str | None = None
    best_ask_size: str | None = None
    best_bid_price: str | None = None
    best_bid_size: str | None = None

    @property
    def data_type(self) -> DataType:
        return DataType.TRADE


@dataclass(frozen=True, slots=True)
class OrderbookRecord:
    exchange: Exchange
    code: str
    asks: tuple[PriceLevel, ...]  # ascending price
    bids: tuple[PriceLevel, ...]  # descending price
    total_ask_size: str
    total_bid_size: str
    event_time_us: int
    received_time_us: int
    stream_type: str
    level: str | None = None  # price grouping unit; None when the frame has none

    @property
    def data_type(self) -> DataType:
        return DataType.ORDERBOOK


MarketRecord = TradeRecord | OrderbookRecord


class ConnectionEventKind(str, Enum):  # noqa: UP042 - same style as the other contract enums
    """What a ``ConnectionEventRecord`` reports (krwfeed.v1 ConnectionEvent.Kind)."""

    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    RESUBSCRIBED = "RESUBSCRIBED"
    BACKFILLED = "BACKFILLED"
    GAP = "GAP"
    MARKETS_CHANGED = "MARKETS_CHANGED"


@dataclass(frozen=True, slots=True)
class ConnectionEventRecord:
    """One event of a connection's life or of the data it carries, for the exchange's events topic.

    ``from_time_us``/``to_time_us`` bound the interval concerned (a drop, the time away, a backfilled
    or missing stretch of trades) and are None when the event has no interval (CONNECTED,
    MARKETS_CHANGED). ``gap_closed`` says, for BACKFILLED and GAP, whether nothing of the interval
    is missing any more.
    """

    exchange: Exchange
    connection_id: str
    kind: ConnectionEventKind
    event_time_us: int  # when krwfeed noticed what the event says
    codes: tuple[str, ...] = ()
    from_time_us: int | None = None
    to_time_us: int | None = None
    trades_recovered: int = 0
    gap_closed: bool = False
    reason: str = ""
    added_codes: tuple[str, ...] = ()
    removed_codes: tuple[str, ...] = ()
