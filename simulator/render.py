"""JSON text of trade, orderbook and ticker frames, written by hand so number spelling is exact.

Every frame is rendered as a template ``(head, tail)``: the frame's ``timestamp``
(``tms``) value goes between them when the frame is written to the socket, so
``timestamp`` is the send time (ms; µs in Bithumb orderbooks). Key orders follow
the frames the exchanges publish.
"""
from __future__ import annotations

import time
from decimal import Decimal

from simulator.book import MAX_DEPTH, Trade
from simulator.generator import MarketGenerator
from simulator.number_format import (
    CachedFormatter,
    java_double,
    plain,
    scaled,
    units_java,
    units_plain,
    units_scaled,
)
from simulator.profiles import ExchangeProfile

Template = tuple[bytes, bytes]
# text of a trade frame around timestamp, trade_date, trade_time, trade_timestamp, sequential_id
TradeParts = tuple[bytes, bytes, bytes, bytes, bytes, bytes]

_java = CachedFormatter(java_double)
_scaled = CachedFormatter(scaled)
_plain = CachedFormatter(plain)

TRADE_KEYS = {
    "DEFAULT": ("type", "code", "timestamp", "trade_date", "trade_time", "trade_timestamp", "trade_price",
                "trade_volume", "ask_bid", "prev_closing_price", "change", "change_price", "sequential_id",
                "best_ask_price", "best_ask_size", "best_bid_price", "best_bid_size", "stream_type"),
    "SIMPLE": ("ty", "cd", "tms", "td", "ttm", "ttms", "tp", "tv", "ab", "pcp", "c", "cp", "sid",
               "bap", "bas", "bbp", "bbs", "st"),
}


def clock_strings(ms: int, offset_hours: int) -> tuple[str, str]:
    """(yyyy-MM-dd, HH:mm:ss) of `ms` in UTC shifted by `offset_hours` (9 = KST)."""
    parts = time.gmtime(ms // 1000 + offset_hours * 3600)
    return (f"{parts.tm_year:04d}-{parts.tm_mon:02d}-{parts.tm_mday:02d}",
            f"{parts.tm_hour:02d}:{parts.tm_min:02d}:{parts.tm_sec:02d}")


class Renderer:
    def __init__(self, profile: ExchangeProfile) -> None:
        self.profile = profile
        self.upbit = profile.name == "upbit"

    def _size(self, units: int) -> str:
        return units_plain(units, self.profile.size_places)

    # ---- trade -----------------------------------------------------------
    def trade_parts(self, trade: Trade, fmt: str, stream_type: str) -> TradeParts:
        """The fixed text of a trade frame around its five time- and id-dependent values.

        The values go between the parts in this order: ``timestamp``, ``trade_date``,
        ``trade_time``, ``trade_timestamp``, ``sequential_id``. Load mode renders parts ahead and
        fills the values in when it writes; ``trade()`` fills the trade's own.
        """
        k = TRADE_KEYS[fmt]
        if self.upbit and fmt == "DEFAULT":
            price, pcp, change = _scaled(trade.price), _scaled(trade.prev_closing_price), scaled(
                abs(trade.price - trade.prev_closing_price))
        elif self.upbit:
            price, pcp, change = _java(trade.price), _java(trade.prev_closing_price), java_double(
                abs(trade.price - trade.prev_closing_price))
        else:
            price, pcp, change = _plain(trade.price), _plain(trade.prev_closing_price), plain(
                abs(trade.price - trade.prev_closing_price))
        return (
            f'{{"{k[0]}":"trade","{k[1]}":"{trade.code}","{k[2]}":'.encode(),
            f',"{k[3]}":"'.encode(),
            f'","{k[4]}":"'.encode(),
            f'","{k[5]}":'.encode(),
            (f',"{k[6]}":{price},"{k[7]}":{self._size(trade.volume)},"{k[8]}":"{trade.ask_bid}","{k[9]}":{pcp},'
             f'"{k[10]}":"{trade.change}","{k[11]}":{change},"{k[12]}":').encode(),
            (f',"{k[13]}":{_plain(trade.best_ask_price)},"{k[14]}":{self._size(trade.best_ask_size)},'
             f'"{k[15]}":{_plain(trade.best_bid_price)},"{k[16]}":{self._size(trade.best_bid_size)},'
             f'"{k[17]}":"{stream_type}"}}').encode(),
        )

    def trade(self, trade: Trade, fmt: str, stream_type: str) -> Template:
        parts = self.trade_parts(trade, fmt, stream_type)
        date, clock = clock_strings(trade.trade_timestamp, self.profile.trade_clock_offset_hours)
        tail = b"".join((parts[1], date.encode(), parts[2], clock.encode(), parts[3],
                         str(trade.trade_timestamp).encode(), parts[4], str(trade.sequential_id).encode(), parts[5]))
        return parts[0], tail

    # ---- orderbook -------------------------------------------------------
    def _level_text(self, fmt: str, level: tuple[Decimal, int]) -> tuple[str, str]:
        if self.upbit and fmt == "DEFAULT":
            return _java(level[0]), units_scaled(level[1])
        if self.upbit:
            return _plain(level[0]), units_java(level[1])
        return _plain(level[0]), self._size(level[1])

    def _side_text(self, side: list[tuple[Decimal, int]], texts: dict[str, list[tuple[str, str] | None]],
                   fmt: str, depth: int) -> list[tuple[str, str]]:
        cached = texts.get(fmt)
        if cached is None:
            cached = texts[fmt] = [None] * MAX_DEPTH
        for i in range(depth):
            if cached[i] is None:
                cached[i] = self._level_text(fmt, side[i])
        return cached[:depth]  # type: ignore[return-value]

    def _units(self, gen: MarketGenerator, fmt: str, depth: int) -> str:
        book = gen.book
        asks = self._side_text(book.asks, book.ask_text, fmt, depth)
        bids = self._side_text(book.bids, book.bid_text, fmt, depth)
        ap, bp, az, bz = ("ap", "bp", "as", "bs") if fmt == "SIMPLE" else (
            "ask_price", "bid_price", "ask_size", "bid_size")
        return ",".join([f'{{"{ap}":{a[0]},"{bp}":{b[0]},"{az}":{a[1]},"{bz}":{b[1]}}}'
                         for a, b in zip(asks, bids, strict=True)])

    def orderbook(self, gen: MarketGenerator, fmt: str, depth: int, stream_type: str) -> Template:
        book = gen.book
        units = self._units(gen, fmt, depth)
        tas = self._size(sum([size for _, size in book.asks[:depth]]))
        tbs = self._size(sum([size for _, size in book.bids[:depth]]))
        level = self.profile.orderbook_level
        simple = fmt == "SIMPLE"
        ty, cd, tms, ta, tb, obu, st, lv = (
            ("ty", "cd", "tms", "tas", "tbs", "obu", "st", "lv") if simple else
            ("type", "code", "timestamp", "total_ask_size", "total_bid_size", "orderbook_units", "stream_type",
             "level"))
        if self.upbit:
            head = f'{{"{ty}":"orderbook","{cd}":"{gen.code}","{tms}":'
            tail = f',"{ta}":{tas},"{tb}":{tbs},"{obu}":[{units}],"{st}":"{stream_type}","{lv}":{level}}}'
        else:
            head = (f'{{"{ty}":"orderbook","{cd}":"{gen.code}","{ta}":{tas},"{tb}":{tbs},"{obu}":[{units}],'
                    f'"{lv}":{level},"{tms}":')
            tail = f',"{st}":"{stream_type}"}}'
        return head.encode(), tail.encode()

    # ---- ticker ----------------------------------------------------------
    def ticker(self, gen: MarketGenerator, fmt: str, stream_type: str) -> Template:
        last = gen.last_trade
        number = _scaled if self.upbit and fmt == "DEFAULT" else _plain
        pcp = gen.prev_closing_price
        signed = last.price - pcp
        rate = (signed / pcp).quantize(Decimal("1E-10")) if pcp else Decimal(0)
        date, clock = clock_strings(last.trade_timestamp, self.profile.trade_clock_offset_hours)
        fields = [
            ("type", "ty", '"ticker"'), ("code", "cd", f'"{gen.code}"'),
            ("opening_price", "op", number(gen.opening_price)), ("high_price", "hp", number(gen.high_price)),
            ("low_price", "lp", number(gen.low_price)), ("trade_price", "tp", number(last.price)),
            ("prev_closing_price", "pcp", number(pcp)), ("change", "c", f'"{last.change}"'),
            ("change_price", "cp", number(abs(signed))), ("signed_change_price", "scp", number(signed)),
            ("change_rate", "cr", plain(abs(rate))), ("signed_change_rate", "scr", plain(rate)),
            ("trade_volume", "tv", self._size(last.volume)),
            ("acc_trade_volume", "atv", self._size(gen.acc_volume)),
            ("acc_trade_price", "atp", plain(gen.acc_price.quantize(Decimal("1E-8")))),
            ("trade_date", "tdt", f'"{date.replace("-", "")}"'), ("trade_time", "ttm", f'"{clock.replace(":", "")}"'),
            ("trade_timestamp", "ttms", str(last.trade_timestamp)), ("ask_bid", "ab", f'"{last.ask_bid}"'),
            ("acc_ask_volume", "aav", self._size(gen.acc_ask_volume)),
            ("acc_bid_volume", "abv", self._size(gen.acc_bid_volume)),
            ("market_state", "ms", '"ACTIVE"'), ("is_trading_suspended", "its", "false"),
            ("delisting_date", "dd", "null"), ("market_warning", "mw", '"NONE"'),
        ]
        index = 1 if fmt == "SIMPLE" else 0
        body = ",".join(f'"{f[index]}":{f[2]}' for f in fields)
        tms, st = ("tms", "st") if fmt == "SIMPLE" else ("timestamp", "stream_type")
        return f'{{{body},"{tms}":'.encode(), f',"{st}":"{stream_type}"}}'.encode()
