"""Value types of the generated market: a trade, and an orderbook ladder with its rendering cache."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MAX_DEPTH = 30


@dataclass(frozen=True, slots=True)  # markets keep thousands each for REST
class Trade:
    code: str
    trade_timestamp: int  # ms
    price: Decimal
    volume: int  # 1e-8 units
    ask_bid: str  # ASK = taker sold, BID = taker bought
    sequential_id: int
    prev_closing_price: Decimal
    best_ask_price: Decimal
    best_ask_size: int
    best_bid_price: Decimal
    best_bid_size: int

    @property
    def change(self) -> str:
        if self.price > self.prev_closing_price:
            return "RISE"
        return "FALL" if self.price < self.prev_closing_price else "EVEN"


class Book:
    """Top-of-book ladder; index 0 is the best level.

    Alongside each side it keeps, per rendering variant, the level's rendered
    (price, size) texts, shifted and invalidated with the levels themselves so
    that a frame only formats the numbers that changed.
    """

    def __init__(self) -> None:
        self.asks: list[tuple[Decimal, int]] = []
        self.bids: list[tuple[Decimal, int]] = []
        self.ask_text: dict[str, list[tuple[str, str] | None]] = {}
        self.bid_text: dict[str, list[tuple[str, str] | None]] = {}

    def _side(self, ask: bool) -> tuple[list[tuple[Decimal, int]], dict[str, list[tuple[str, str] | None]]]:
        return (self.asks, self.ask_text) if ask else (self.bids, self.bid_text)

    def set_level(self, ask: bool, index: int, level: tuple[Decimal, int]) -> None:
        side, texts = self._side(ask)
        side[index] = level
        for cached in texts.values():
            cached[index] = None

    def insert_best(self, ask: bool, level: tuple[Decimal, int]) -> None:
        side, texts = self._side(ask)
        side.insert(0, level)
        del side[MAX_DEPTH:]
        for cached in texts.values():
            cached.insert(0, None)
            del cached[MAX_DEPTH:]

    def pop_best(self, ask: bool) -> None:
        side, texts = self._side(ask)
        del side[0]
        for cached in texts.values():
            del cached[0]
            cached.append(None)
