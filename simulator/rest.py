"""REST endpoints served from the same market data: GET /v1/market/all and GET /v1/trades/ticks."""
from __future__ import annotations

from decimal import Decimal

from simulator.book import Trade
from simulator.generator import SIZE_SCALE
from simulator.render import clock_strings
from simulator.venue import Venue

MAX_TICKS = 500


def market_all(venue: Venue) -> list[dict[str, str]]:
    return [
        {"market": m.code, "korean_name": m.korean_name, "english_name": m.english_name}
        for m in venue.markets.values()
    ]


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
        "change_price": trade.price - trade.prev_closing_price,
        "ask_bid": trade.ask_bid,
        "sequential_id": trade.sequential_id,
    }


def trades_ticks(venue: Venue, query: dict[str, str]) -> tuple[int, object]:
    """Recent trades of one market, newest first; `cursor` (a sequential_id) pages to older trades."""
    code = query.get("market", "")
    gen = venue.generators.get(code)
    if gen is None:
        return 404, {"error": {"name": "404", "message": "Code not found"}}
    try:
        count = int(query.get("count", "1"))
        cursor = int(query["cursor"]) if query.get("cursor") else None
    except ValueError:
        return 400, {"error": {"name": "400", "message": "invalid count or cursor"}}
    if not 1 <= count <= MAX_TICKS:
        return 400, {"error": {"name": "400", "message": f"count must be 1..{MAX_TICKS}"}}
    gen.backfill(len(gen.history) + count + 1 if cursor is not None else count)
    newest_first = reversed(gen.history)
    ticks = []
    for trade in newest_first:
        if cursor is not None and trade.sequential_id >= cursor:
            continue
        ticks.append(_tick(trade))
        if len(ticks) == count:
            break
    return 200, ticks
