"""REST endpoints served from the same markets: GET /v1/market/all and GET /v1/trades/ticks.

``/v1/trades/ticks`` serves the market's tape: the trades it made whether or not anyone was
connected, newest first, within the kept history (older trades are gone). As documented for both
venues, one answer covers one UTC trade date: without ``days_ago`` the date of the market's latest
trade, with ``days_ago=N`` (1..7) the date N days before it; ``to`` (``HHmmss`` or ``HH:mm:ss``, UTC)
starts the answer at that time of the day, ``cursor`` (a ``sequential_id``) after that trade.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from simulator.book import Trade
from simulator.generator import SIZE_SCALE
from simulator.render import clock_strings
from simulator.venue import Venue

MAX_TICKS = 500
MAX_DAYS_AGO = 7
_DAY_MS = 86_400_000


def market_all(venue: Venue, query: dict[str, str] | None = None) -> list[dict[str, object]]:
    details = (query or {}).get("is_details", (query or {}).get("isDetails", "")).lower() == "true"
    listing: list[dict[str, object]] = []
    for m in venue.markets.values():
        entry: dict[str, object] = {"market": m.code, "korean_name": m.korean_name, "english_name": m.english_name}
        if details:
            entry["market_event"] = {"warning": False, "caution": {
                "PRICE_FLUCTUATIONS": False, "TRADING_VOLUME_SOARING": False, "DEPOSIT_AMOUNT_SOARING": False,
                "GLOBAL_PRICE_DIFFERENCES": False, "CONCENTRATION_OF_SMALL_ACCOUNTS": False}}
        listing.append(entry)
    return listing


def _tick(trade: Trade) -> dict[str, object]:
    date, clock = clock_strings(trade.trade_timestamp, 0)
    return {
        "market": trade.code,
        "trade_date_utc": date,
        "trade_time_utc": clock,
        "timestamp": trade.trade_timestamp,
        "trade_price": trade.price,
        "trade_volume": Decimal(trade.volume) / SIZE_SCALE,
        "prev_closing_price": trade.prev_closing_price,
        "change_price": trade.price - trade.prev_closing_price,  # signed on REST: trade_price - prev_closing_price
        "ask_bid": trade.ask_bid,
        "sequential_id": trade.sequential_id,
    }


def _error(status: int, name: str, message: str) -> tuple[int, object]:
    return status, {"error": {"name": name, "message": message}}


def _clock_ms(text: str) -> int:
    """`HHmmss` or `HH:mm:ss` -> milliseconds into the day (ValueError when malformed)."""
    digits = text.replace(":", "")
    if len(digits) != 6 or not digits.isdigit():
        raise ValueError(text)
    hours, minutes, seconds = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(text)
    return ((hours * 60 + minutes) * 60 + seconds) * 1000


def trades_ticks(venue: Venue, query: dict[str, str]) -> tuple[int, object]:
    """Trades of one market, newest first, within one UTC trade date (see the module text)."""
    code = query.get("market", "")
    gen = venue.generators.get(code) if code in venue.markets else None
    if gen is None:
        return _error(404, "404", "Code not found")
    try:
        count = int(query.get("count", "1"))
        cursor = int(query["cursor"]) if query.get("cursor") else None
        days_ago = int(query["days_ago"]) if query.get("days_ago") else 0
        to_ms = _clock_ms(query["to"]) + 999 if query.get("to") else None
    except ValueError:
        return _error(400, "validation_error", "invalid count, cursor, days_ago or to")
    if not 1 <= count <= MAX_TICKS:
        return _error(400, "validation_error", f"count must be 1..{MAX_TICKS}")
    if query.get("days_ago") and not 1 <= days_ago <= MAX_DAYS_AGO:
        return _error(400, "validation_error", f"days_ago must be 1..{MAX_DAYS_AGO}")
    gen.invent_past()
    day_start = (gen.last_trade.trade_timestamp // _DAY_MS - days_ago) * _DAY_MS
    day_end = day_start + _DAY_MS
    if to_ms is not None:
        day_end = min(day_end, day_start + to_ms + 1)
    return 200, [_tick(t) for t in _page(reversed(gen.history), day_start, day_end, cursor, count)]


def _page(newest_first: Iterable[Trade], start_ms: int, end_ms: int, cursor: int | None, count: int) -> list[Trade]:
    """Up to `count` trades in [start_ms, end_ms), newest first, after the trade with id `cursor`.

    The cursor names a position in the tape, not an order of ids: the answer continues after that
    trade. A cursor the kept history no longer holds continues below its id.
    """
    trades = [t for t in newest_first if start_ms <= t.trade_timestamp < end_ms]
    if cursor is not None:
        position = next((i for i, t in enumerate(trades) if t.sequential_id == cursor), None)
        trades = trades[position + 1:] if position is not None else [t for t in trades if t.sequential_id < cursor]
    return trades[:count]


def remaining_req(group: str, remaining: int) -> str:
    """Upbit's Remaining-Req header (``min`` is fixed: the venue no longer limits per minute)."""
    return f"group={group}; min=1800; sec={remaining}"
