"""One simulated exchange: markets, generators, connected sessions and who subscribed to what.

The venue models the exchange, not its clients: every listed market trades at the configured rate
whether or not anyone is connected, keeps a bounded history of its trades for REST (the REST
horizon), and can be listed or delisted while running. Sessions receive what they subscribe to;
the sent log records what was written to them, the tape log every trade the markets made.
"""
from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from simulator.faults import FaultState
from simulator.generator import TRADE_HISTORY, MarketGenerator
from simulator.load import LoadFeed
from simulator.markets import Market
from simulator.profiles import ExchangeProfile
from simulator.ratelimit import ConnectRateLimiter
from simulator.render import Renderer, Template
from simulator.session import KIND_ORDERBOOK, KIND_OTHER, KIND_TRADE, Session
from simulator.subscription import Subscription


@dataclass
class VenueOptions:
    rate: float = 200.0  # market events per second on this venue
    trade_ratio: float = 0.5
    idle_timeout: float = 60.0
    connect_limit: int | None = None  # None: the venue's own limit; 0: off
    seed: int = 1
    max_backlog: int = 50_000  # queued frames per connection beyond which realtime frames are shed
    coalesce: int = 1  # frames joined into one socket write (over TLS: one record holding them all)
    load: bool = False  # frames rendered ahead and written in one chunk per connection and tick
    load_pool: int = 32  # frames rendered ahead per code, data type and (format, depth) in load mode
    rest_history: int = TRADE_HISTORY  # trades each market keeps for REST; older ones are gone
    rest_limit: int | None = None  # REST requests per second per address and group; None: the venue's; 0: off

REST_GROUPS = ("trade", "market")


class Venue:
    def __init__(self, profile: ExchangeProfile, markets: tuple[Market, ...], options: VenueOptions) -> None:
        self.profile = profile
        self.options = options
        self.markets = {m.code: m for m in markets}  # listed markets, in listing order
        self.listed_codes: list[str] = list(self.markets)  # the order events go round
        self.known_codes: set[str] = set(self.markets)  # codes a subscription may name (replay adds its own)
        now = int(time.time() * 1000)
        self.generators = {m.code: self._generator(m, now) for m in markets}
        self.tape: defaultdict[str, list[int]] = defaultdict(list)  # ids of the trades made, per code
        self.renderer = Renderer(profile)
        self.faults = FaultState()
        limit = profile.connect_limit_per_second if options.connect_limit is None else options.connect_limit
        self.limiter = ConnectRateLimiter(limit)
        rest_limit = profile.rest_limit_per_second if options.rest_limit is None else options.rest_limit
        self.rest_limiters = {group: ConnectRateLimiter(rest_limit) for group in REST_GROUPS}
        self.rng = random.Random(f"{options.seed}:{profile.name}:feed")
        self.sessions: set[Session] = set()
        self.closed_logs: list[dict[str, Any]] = []
        # type -> code -> {session: depth}; rebuilt whenever a subscription changes
        self.subscribers: dict[str, dict[str, dict[Session, int]]] = {}
        self.active_codes: list[str] = []
        self.replay_lines: list[tuple[bytes, str | None, str | None]] = []
        self.events_produced = 0
        self.max_backlog = options.max_backlog
        self.load = LoadFeed(self, options.load_pool) if options.load else None

    def _generator(self, market: Market, now_ms: int) -> MarketGenerator:
        return MarketGenerator(market, self.profile.name, self.options.seed, now_ms, self.profile.size_places,
                               self.options.rest_history)

    # ---- listings ------------------------------------------------------------
    def list_market(self, market: Market, now_ms: int) -> bool:
        """List `market` (it starts trading now); False when it is listed already. A market listed
        again after a delisting continues its own tape."""
        if market.code in self.markets:
            return False
        self.markets[market.code] = market
        self.listed_codes.append(market.code)
        self.known_codes.add(market.code)
        if market.code not in self.generators:
            self.generators[market.code] = self._generator(market, now_ms)
        self._reindex()
        if self.load is not None:
            self.load.prepare()
        return True

    def delist(self, code: str) -> bool:
        """Stop trading and streaming `code`; it leaves the market list and REST. False if not listed."""
        if self.markets.pop(code, None) is None:
            return False
        self.listed_codes.remove(code)
        self.known_codes.discard(code)
        self._reindex()
        return True

    # ---- subscriptions -------------------------------------------------------
    def _reindex(self) -> None:
        index: dict[str, dict[str, dict[Session, int]]] = defaultdict(lambda: defaultdict(dict))
        for session in self.sessions:
            sub = session.subscription
            if sub is None:
                continue
            for stream in sub.streams:
                if stream.only_snapshot:
                    continue
                for code, depth in stream.codes.items():
                    if code in self.markets:  # a delisted market streams to nobody
                        index[stream.type][code][session] = depth
        self.subscribers = {t: dict(codes) for t, codes in index.items()}
        self.active_codes = sorted({code for codes in self.subscribers.values() for code in codes})

    def subscribe(self, session: Session, sub: Subscription) -> None:
        """Replace the session's whole subscription and queue one SNAPSHOT per (type, code) asked for."""
        session.subscription = sub
        self._reindex()
        if self.load is not None:
            self.load.prepare()
        if self.replay_lines:
            return  # replay mode: the recorded frames are the whole stream
        for stream in sub.streams:
            if stream.only_realtime:
                continue
            for code, depth in stream.codes.items():
                if code not in self.markets:
                    continue
                gen = self.generators[code]
                if stream.type == "trade":
                    trade = gen.last_trade
                    head, tail = self.renderer.trade(trade, sub.format, "SNAPSHOT")
                    session.enqueue((head, tail, code, trade.sequential_id, KIND_TRADE))
                elif stream.type == "orderbook":
                    head, tail = self.renderer.orderbook(gen, sub.format, depth, "SNAPSHOT")
                    session.enqueue((head, tail, code, 0, KIND_ORDERBOOK))
                else:
                    head, tail = self.renderer.ticker(gen, sub.format, "SNAPSHOT")
                    session.enqueue((head, tail, code, 0, KIND_OTHER))

    def add(self, session: Session) -> None:
        self.sessions.add(session)

    def remove(self, session: Session) -> None:
        self.sessions.discard(session)
        self.closed_logs.append(session.sent_log())
        self._reindex()

    # ---- realtime ------------------------------------------------------------
    def produce(self, count: int, now_ms: int) -> None:
        """Generate `count` market events spread round-robin over every listed market, and send each
        to the sessions subscribed to its (type, code). Markets trade whether or not anyone listens.

        Load mode is the exception: it renders frames ahead for the subscribed codes only and goes
        round those (see simulator.load), so its markets keep no tape.
        """
        if self.load is not None:
            self.load.produce(count)
            return
        codes = self.listed_codes
        if not codes:
            return
        tape = self.tape
        trade_subs = self.subscribers.get("trade", {})
        book_subs = self.subscribers.get("orderbook", {})
        ticker_subs = self.subscribers.get("ticker", {})
        ratio, rng, renderer = self.options.trade_ratio, self.rng, self.renderer
        backlog = self.max_backlog
        start = self.events_produced
        for i in range(count):
            code = codes[(start + i) % len(codes)]
            gen = self.generators[code]
            if rng.random() < ratio:
                trade = gen.trade(now_ms)
                tape[code].append(trade.sequential_id)
                subs = trade_subs.get(code)
                if subs:
                    trade_cache: dict[str, Template] = {}
                    for session in subs:
                        if len(session.outbox) >= backlog:
                            session.frames_shed += 1
                            continue
                        fmt = session.subscription.format  # type: ignore[union-attr]
                        tpl = trade_cache.get(fmt) or trade_cache.setdefault(
                            fmt, renderer.trade(trade, fmt, "REALTIME"))
                        session.enqueue((tpl[0], tpl[1], code, trade.sequential_id, KIND_TRADE))
                subs = ticker_subs.get(code)
                if subs:
                    for session in subs:
                        fmt = session.subscription.format  # type: ignore[union-attr]
                        head, tail = renderer.ticker(gen, fmt, "REALTIME")
                        session.enqueue((head, tail, code, 0, KIND_OTHER))
            else:
                gen.book_update()
                subs = book_subs.get(code)
                if subs:
                    book_cache: dict[tuple[str, int], Template] = {}
                    for session, depth in subs.items():
                        if len(session.outbox) >= backlog:
                            session.frames_shed += 1
                            continue
                        key = (session.subscription.format, depth)  # type: ignore[union-attr]
                        tpl = book_cache.get(key) or book_cache.setdefault(
                            key, renderer.orderbook(gen, key[0], depth, "REALTIME"))
                        session.enqueue((tpl[0], tpl[1], code, 0, KIND_ORDERBOOK))
        self.events_produced += count

    # ---- logs ----------------------------------------------------------------
    def sent_log(self, per_connection: bool = False) -> dict[str, object]:
        logs = self.closed_logs + [s.sent_log() for s in self.sessions]
        trades: defaultdict[str, list[int]] = defaultdict(list)
        books: Counter[str] = Counter()
        for log in logs:
            for code, sids in log["trades"].items():
                trades[code].extend(sids)
            books.update(log["orderbooks"])
        result: dict[str, object] = {
            "exchange": self.profile.name,
            "trades": dict(trades),
            "orderbooks": dict(books),
            "trade_count": sum(len(s) for s in trades.values()),
            "orderbook_count": sum(books.values()),
        }
        if per_connection:
            result["connections"] = logs
        return result

    def logged_count(self) -> int:
        """Trade and orderbook frames in the sent log: ``trade_count + orderbook_count`` without
        building the log."""
        logs = self.closed_logs + [s.sent_log() for s in self.sessions]
        return sum(sum(map(len, log["trades"].values())) + sum(log["orderbooks"].values()) for log in logs)

    def tape_log(self) -> dict[str, object]:
        """Every trade the markets made (since start or the last reset), whoever was connected."""
        return {
            "exchange": self.profile.name,
            "trades": {code: list(sids) for code, sids in self.tape.items()},
            "trade_count": sum(len(sids) for sids in self.tape.values()),
        }

    def reset_logs(self) -> None:
        self.tape.clear()
        self.closed_logs.clear()
        for session in self.sessions:
            session.sent_trades.clear()
            session.sent_orderbooks.clear()
            session.frames_sent = 0
