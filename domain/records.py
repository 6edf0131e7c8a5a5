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

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple, overload

from domain.slot_init import slot_init

# The characters of a decimal text in plain notation (with at most one point and one digit at least).
PLAIN_CHARS = "0123456789."
# The longest decimal text a record carries (real prices and sizes need about 20 digits and 18
# places). Adapters refuse longer numbers before writing them out; validation refuses longer texts.
MAX_NUMBER_CHARS = 64
_PLAIN_BYTES = PLAIN_CHARS.encode()
# One decimal text in plain notation: ASCII digits with at most one point, one digit at least
# ("5.", ".5" and "007" are exact too). plain_decimals applies the same rule to many texts at once.
PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


_DIGITS = b"0123456789"
_AS_RUNS = bytes.maketrans(_PLAIN_BYTES, b"x" * len(_PLAIN_BYTES))  # every text becomes a run of x
_TOO_LONG = b"x" * (MAX_NUMBER_CHARS + 1)
_COMMA = ord(",")


def plain_decimals(texts: Sequence[str], *, positive: bool = False) -> bool:
    """Whether every item is a decimal text in plain notation (ASCII digits with at most one point
    and one digit at least) of at most MAX_NUMBER_CHARS characters; with ``positive``, also above
    zero (a digit other than 0).

    Decided for a whole book at once: the texts are joined by commas and each rule is one C-level
    pass over those bytes (a translate, then a comparison or a substring search), where a check per
    text would cost a Python-level call for each of a book's 120 numbers. The commas keep the texts
    apart: deleting the plain characters must leave exactly the n - 1 commas (nothing else, and no
    text holds a comma of its own), so each rule holds for every text exactly when the joined form
    shows no ".." once the digits are deleted (two points in one text), no empty stretch between
    commas, or at either end, once the points (and with ``positive`` the zeros) are deleted (a text
    with no digit, or only zeros), and no run of more than MAX_NUMBER_CHARS characters (which
    cannot happen when the joined form itself is no longer).
    """
    if not texts:
        return True
    try:
        joined = ",".join(texts).encode("ascii")
    except (TypeError, ValueError):  # an item that is no text, or a non-ASCII character
        return False
    if (joined.translate(None, _PLAIN_BYTES) != b"," * (len(texts) - 1)
            or b".." in joined.translate(None, _DIGITS)):
        return False
    digits = joined.translate(None, b"0." if positive else b".")
    return (digits != b"" and digits[0] != _COMMA and digits[-1] != _COMMA and b",," not in digits
            and (len(joined) <= MAX_NUMBER_CHARS or _TOO_LONG not in joined.translate(_AS_RUNS)))


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


class Levels(Sequence[PriceLevel]):
    """One side of a book: a sequence of ``PriceLevel`` kept as two columns, the prices and the
    sizes (``prices[i]`` goes with ``sizes[i]``), tuples of exact decimal texts.

    Books carry 30-60 levels and every one of them is parsed, validated and written out: the
    columns are what the parser reads from the frame, what validation checks in whole-column passes
    and what the serializer writes out, so no per-level object is ever built on that path. Reading
    it as levels (``book.asks[0].price``, iteration, ``len``) builds ``PriceLevel`` values on demand.
    Immutable; equal to another ``Levels`` or to a tuple of the same (price, size) pairs.
    """

    __slots__ = ("prices", "sizes")
    prices: tuple[str, ...]
    sizes: tuple[str, ...]

    def __init__(self, prices: tuple[str, ...] = (), sizes: tuple[str, ...] = ()) -> None:
        if len(prices) != len(sizes):
            raise ValueError(f"{len(prices)} prices but {len(sizes)} sizes")
        _set_prices(self, prices)
        _set_sizes(self, sizes)

    @classmethod
    def of(cls, levels: Iterable[tuple[Any, Any]]) -> Levels:
        """Levels from (price, size) pairs, e.g. a tuple of ``PriceLevel`` (values kept as given)."""
        if type(levels) is cls:
            return levels
        pairs = [(price, size) for price, size in levels]  # each level exactly two values
        return cls(tuple(p for p, _ in pairs), tuple(s for _, s in pairs))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Levels is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Levels is immutable: cannot delete {name}")

    def __len__(self) -> int:
        return len(self.prices)

    @overload
    def __getitem__(self, index: int) -> PriceLevel: ...

    @overload
    def __getitem__(self, index: slice) -> Levels: ...

    def __getitem__(self, index: int | slice) -> PriceLevel | Levels:
        if isinstance(index, slice):
            return Levels(self.prices[index], self.sizes[index])
        return PriceLevel(self.prices[index], self.sizes[index])

    def __iter__(self) -> Iterator[PriceLevel]:
        return map(PriceLevel, self.prices, self.sizes)

    def __eq__(self, other: object) -> bool:
        if type(other) is Levels:
            return self.prices == other.prices and self.sizes == other.sizes
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # as the equal tuple's

    def __repr__(self) -> str:
        return f"Levels({list(zip(self.prices, self.sizes, strict=True))!r})"

    def __reduce__(self) -> tuple[type[Levels], tuple[tuple[str, ...], tuple[str, ...]]]:
        return Levels, (self.prices, self.sizes)


# The slots' own setters (as domain.slot_init uses): half the cost of object.__setattr__, and a
# book builds two Levels.
_set_prices = Levels.prices.__set__  # type: ignore[attr-defined]
_set_sizes = Levels.sizes.__set__  # type: ignore[attr-defined]


@slot_init
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


@slot_init
@dataclass(frozen=True, slots=True)
class OrderbookRecord:
    exchange: Exchange
    code: str
    # Ascending and descending price. Any sequence of (price, size) pairs may be given (a tuple
    # of PriceLevel, say); the record keeps it as Levels.
    asks: Levels
    bids: Levels
    total_ask_size: str
    total_bid_size: str
    event_time_us: int
    received_time_us: int
    stream_type: str
    level: str | None = None  # price grouping unit; None when the frame has none

    def __post_init__(self) -> None:
        if type(self.asks) is not Levels:
            object.__setattr__(self, "asks", Levels.of(self.asks))
        if type(self.bids) is not Levels:
            object.__setattr__(self, "bids", Levels.of(self.bids))

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
