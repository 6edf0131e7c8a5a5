"""Deterministic market data: one generator per (exchange, market).

Pure code, no I/O: the caller passes the clock. The same seed, exchange, market
and sequence of calls give the same prices, sizes and sides, so runs can be
compared. Sizes are kept as integers of 1e-8 units so they stay exact and are
cheap to format.

Trade ids are derivable: ``sequential_id = trade_timestamp_ms * 10000 + n``
where ``n`` counts the market's trades within that millisecond (the structure
seen on Upbit since 2024). They are unique per
(exchange, market) and exceed 2**53.
"""
from __future__ import annotations

import random
from collections import deque
from decimal import Decimal

from simulator.book import MAX_DEPTH, Book, Trade
from simulator.markets import Market
from simulator.ticks import floor_to_tick, step_down, step_up

SIZE_SCALE = 100_000_000  # sizes are integers of 1e-8
SID_FACTOR = 10_000
TRADE_HISTORY = 2_000  # trades kept per market for REST (the REST horizon), unless the venue says otherwise


class MarketGenerator:
    def __init__(self, market: Market, exchange: str, seed: int, now_ms: int, size_places: int = 8,
                 history: int = TRADE_HISTORY) -> None:
        self.market = market
        self._size_step: int = 10 ** (8 - size_places)  # sizes are whole multiples of the venue's precision
        self.code = market.code
        self.rng = random.Random(f"{seed}:{exchange}:{market.code}")
        self.prev_closing_price = floor_to_tick(market.base_price)
        self.book = Book()
        if history < 1:
            raise ValueError(f"a market keeps at least one trade, got history={history}")
        self.history: deque[Trade] = deque(maxlen=history)
        # Once a trade has fallen off the kept history, what is older is gone for good: REST never
        # serves it again, so a client that was away too long finds a gap it cannot fill.
        self.evicted = False
        self._past_invented = False
        self._last_ms = 0
        self._n_in_ms = 0
        self.opening_price = self.prev_closing_price
        self.high_price = self.prev_closing_price
        self.low_price = self.prev_closing_price
        self.acc_volume = 0
        self.acc_price = Decimal(0)
        self.acc_ask_volume = 0
        self.acc_bid_volume = 0
        self._build_book()
        self.trade(now_ms)  # every market has a last trade, so a trade snapshot always exists

    # ---- book -------------------------------------------------------------
    def _random_size(self, price: Decimal, low: float = 4.0, high: float = 7.5) -> int:
        notional = 10.0 ** self.rng.uniform(low, high)
        units = int(notional / float(price) * SIZE_SCALE)
        return max(self._size_step, units - units % self._size_step)

    def _build_book(self) -> None:
        best_bid = self.prev_closing_price
        best_ask = step_up(best_bid)
        self.book.asks = [(best_ask, self._random_size(best_ask))]
        self.book.bids = [(best_bid, self._random_size(best_bid))]
        self._fill()

    def _fill(self) -> None:
        asks, bids = self.book.asks, self.book.bids
        while len(asks) < MAX_DEPTH:
            price = asks[-1][0]
            for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
                price = step_up(price)
            asks.append((price, self._random_size(price)))
        while len(bids) < MAX_DEPTH:
            price = bids[-1][0]
            for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
                price = step_down(price)
            bids.append((price, self._random_size(price)))

    def book_update(self) -> None:
        """One realtime change: resize a few levels, or tighten the spread by one tick."""
        book, rng = self.book, self.rng
        if rng.random() < 0.15:
            best_ask, best_bid = book.asks[0][0], book.bids[0][0]
            if rng.random() < 0.5:
                inside = step_up(best_bid)
                if inside < best_ask:
                    book.insert_best(False, (inside, self._random_size(inside)))
                    return
            inside = step_down(best_ask)
            if inside > best_bid:
                book.insert_best(True, (inside, self._random_size(inside)))
                return
        for _ in range(rng.choice((1, 1, 2, 3))):
            index = min(int(rng.expovariate(0.25)), MAX_DEPTH - 1)
            ask = rng.random() < 0.5
            price = (book.asks if ask else book.bids)[index][0]
            book.set_level(ask, index, (price, self._random_size(price)))

    # ---- trades -----------------------------------------------------------
    def next_trade_id(self, now_ms: int) -> tuple[int, int]:
        """(trade_timestamp ms, sequential_id) of the market's next trade at `now_ms`; never repeats."""
        ms = max(now_ms, self._last_ms)
        if ms == self._last_ms:
            self._n_in_ms += 1
            if self._n_in_ms >= SID_FACTOR:
                ms, self._n_in_ms = ms + 1, 0
        else:
            self._n_in_ms = 0
        self._last_ms = ms
        return ms, ms * SID_FACTOR + self._n_in_ms

    def trade(self, now_ms: int) -> Trade:
        """A taker trade against the best level; may use the level up and widen the spread."""
        book, rng = self.book, self.rng
        ask_bid = "BID" if rng.random() < 0.5 else "ASK"
        side = book.asks if ask_bid == "BID" else book.bids
        price, available = side[0]
        volume = min(available, self._random_size(price, 3.7, 6.5))
        ttms, sid = self.next_trade_id(now_ms)
        trade = Trade(
            self.code, ttms, price, volume, ask_bid, sid, self.prev_closing_price,
            book.asks[0][0], book.asks[0][1], book.bids[0][0], book.bids[0][1],
        )
        if volume >= available or rng.random() < 0.1:
            book.pop_best(ask_bid == "BID")
            self._fill()
        else:
            book.set_level(ask_bid == "BID", 0, (price, available - volume))
        self._account(trade)
        return trade

    def _account(self, trade: Trade) -> None:
        if len(self.history) == self.history.maxlen:
            self.evicted = True
        self.history.append(trade)
        self.high_price = max(self.high_price, trade.price)
        self.low_price = min(self.low_price, trade.price)
        self.acc_volume += trade.volume
        self.acc_price += trade.price * trade.volume / SIZE_SCALE
        if trade.ask_bid == "ASK":
            self.acc_ask_volume += trade.volume
        else:
            self.acc_bid_volume += trade.volume

    def invent_past(self) -> None:
        """Fill the kept history with trades from before the simulator started, once per market.

        A real market has traded long before anyone asks for its history; this gives REST that
        past without generating it for markets nobody asks about. It runs at most once, and never
        after the kept history has been full (older trades are then beyond the horizon). It uses
        its own random stream, so calling it never changes the live data. The invented trades sit
        close together (10-500 ms apart) so that a page of them rarely spans a UTC midnight.
        """
        if self._past_invented or self.evicted:
            return
        self._past_invented = True
        room = (self.history.maxlen or 0) - len(self.history)
        if room <= 0:
            return
        rng = random.Random(f"{self.code}:{self.history[0].sequential_id}:past")
        older: list[Trade] = []
        oldest = self.history[0]
        price, ms = oldest.price, oldest.trade_timestamp
        for _ in range(room):
            ms -= rng.randint(10, 500)
            price = step_up(price) if rng.random() < 0.5 else step_down(price)
            ask_bid = "BID" if rng.random() < 0.5 else "ASK"
            best_ask, best_bid = (price, step_down(price)) if ask_bid == "BID" else (step_up(price), price)
            size = self._size_step * rng.randint(1, 10_000)
            older.append(Trade(self.code, ms, price, size, ask_bid, ms * SID_FACTOR, self.prev_closing_price,
                               best_ask, size, best_bid, size))
        self.history.extendleft(older)  # each one older than the last

    @property
    def last_trade(self) -> Trade:
        return self.history[-1]
