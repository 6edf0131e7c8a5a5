"""Unit tests of the venue's tape: markets trade with nobody connected, REST serves that tape within
its horizon and one UTC date per answer, listings change while running. No sockets: the venue is
driven directly with chosen clock values."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from simulator import control
from simulator.markets import select_markets
from simulator.profiles import BITHUMB, UPBIT
from simulator.ratelimit import ConnectRateLimiter
from simulator.rest import market_all, trades_ticks
from simulator.venue import Venue, VenueOptions

pytestmark = pytest.mark.unit
DAY_MS = 86_400_000
# A UTC midnight ahead of the wall clock: a market's trade times never go back before its first trade.
MIDNIGHT = (int(time.time() * 1000) // DAY_MS + 2) * DAY_MS
CODES = ["KRW-BTC", "KRW-ETH", "KRW-XRP"]


def _venue(history: int = 2_000, codes: list[str] | None = None, trade_ratio: float = 1.0) -> Venue:
    return Venue(UPBIT, select_markets(codes or CODES, None),
                 VenueOptions(trade_ratio=trade_ratio, rest_history=history))


def _ticks(venue: Venue, **query: Any) -> list[dict[str, Any]]:
    status, body = trades_ticks(venue, {k: str(v) for k, v in query.items()})
    assert status == 200, body
    assert isinstance(body, list)
    return body


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _made(venue: Venue, code: str, count: int, start_ms: int, step_ms: int = 10) -> list[int]:
    """Let the venue make trades until `code` has `count` more; returns their ids in the order made."""
    before = len(venue.tape[code])
    ms = start_ms
    while len(venue.tape[code]) < before + count:
        venue.produce(1, ms)
        ms += step_ms
    return venue.tape[code][before:before + count]


def test_every_listed_market_trades_with_nobody_subscribed() -> None:
    venue = _venue()
    venue.produce(300, MIDNIGHT + 3_600_000)
    assert not venue.sessions and not venue.active_codes
    assert {code: len(sids) for code, sids in venue.tape.items()} == {code: 100 for code in CODES}
    assert venue.sent_log()["trade_count"] == 0  # the sent log stays a log of what sessions were sent


def test_rest_serves_trades_made_while_nobody_was_connected_newest_first() -> None:
    venue = _venue()
    made = _made(venue, "KRW-ETH", 40, MIDNIGHT + 3_600_000)
    ticks = _ticks(venue, market="KRW-ETH", count=40)
    assert [t["sequential_id"] for t in ticks] == made[::-1]
    stamps = [t["timestamp"] for t in ticks]
    assert stamps == sorted(stamps, reverse=True)


def test_cursor_pages_to_older_trades_without_overlap() -> None:
    venue = _venue()
    made = _made(venue, "KRW-BTC", 25, MIDNIGHT + 3_600_000)
    first = _ticks(venue, market="KRW-BTC", count=10)
    second = _ticks(venue, market="KRW-BTC", count=10, cursor=first[-1]["sequential_id"])
    assert [t["sequential_id"] for t in first + second] == made[::-1][:20]


def test_horizon_bounds_the_history_and_old_trades_are_gone() -> None:
    venue = _venue(history=50)
    made = _made(venue, "KRW-BTC", 120, MIDNIGHT + 3_600_000)
    ticks = _ticks(venue, market="KRW-BTC", count=500)
    assert [t["sequential_id"] for t in ticks] == made[::-1][:50]
    assert _ticks(venue, market="KRW-BTC", count=10, cursor=ticks[-1]["sequential_id"]) == []


def test_history_before_start_is_invented_once_and_then_stable() -> None:
    venue = _venue(history=300)
    first = _ticks(venue, market="KRW-XRP", count=200)
    assert len(first) == 200  # the market traded before the simulator started
    _made(venue, "KRW-XRP", 5, venue.generators["KRW-XRP"].last_trade.trade_timestamp + 1)
    again = _ticks(venue, market="KRW-XRP", count=205)
    assert [t["sequential_id"] for t in again[5:]] == [t["sequential_id"] for t in first]


def test_one_answer_covers_one_utc_date_and_days_ago_reaches_the_previous_one() -> None:
    venue = _venue()
    before = _made(venue, "KRW-BTC", 6, MIDNIGHT - 30, step_ms=3)  # some before midnight, some after
    history = {t.sequential_id: t.trade_timestamp for t in venue.generators["KRW-BTC"].history}
    today = [sid for sid in before if history[sid] >= MIDNIGHT]
    yesterday = [sid for sid in before if history[sid] < MIDNIGHT]
    assert today and yesterday
    latest = _ticks(venue, market="KRW-BTC", count=500)
    assert [t["sequential_id"] for t in latest] == today[::-1]
    assert {t["trade_date_utc"] for t in latest} == {_date(MIDNIGHT)}
    previous = _ticks(venue, market="KRW-BTC", count=len(yesterday), days_ago=1)
    assert [t["sequential_id"] for t in previous] == yesterday[::-1]
    assert {t["trade_date_utc"] for t in previous} == {_date(MIDNIGHT - DAY_MS)}


def test_to_starts_the_answer_at_a_time_of_day() -> None:
    venue = _venue()
    _made(venue, "KRW-ETH", 30, MIDNIGHT + 3_600_000, step_ms=200)  # 01:00:00.000 .. 01:00:05.800
    ticks = _ticks(venue, market="KRW-ETH", count=500, to="010002")
    assert ticks and all(t["timestamp"] < MIDNIGHT + 3_603_000 for t in ticks)
    assert ticks[0]["timestamp"] >= MIDNIGHT + 3_602_000
    assert _ticks(venue, market="KRW-ETH", count=500, to="01:00:02") == ticks


@pytest.mark.parametrize("query", [{"count": "0"}, {"count": "501"}, {"days_ago": "8"}, {"days_ago": "0"},
                                   {"cursor": "x"}, {"to": "25:00:00"}])
def test_bad_parameters_are_400(query: dict[str, str]) -> None:
    status, body = trades_ticks(_venue(), {"market": "KRW-BTC", **query})
    assert status == 400 and "error" in body  # type: ignore[operator]


def test_list_and_delist_change_the_listing_rest_and_streaming() -> None:
    venue = _venue()
    result = control.apply(venue, "list", {"code": "KRW-NEW1", "english_name": "New One", "price": "1500"})
    assert result["listed"] is True
    assert [m["market"] for m in market_all(venue)] == [*CODES, "KRW-NEW1"]
    assert control.apply(venue, "list", {"code": "KRW-NEW1"})["listed"] is False
    venue.produce(400, MIDNIGHT + 3_600_000)
    assert len(venue.tape["KRW-NEW1"]) == 100
    assert control.apply(venue, "delist", {"code": "KRW-BTC"})["delisted"] is True
    assert "KRW-BTC" not in [m["market"] for m in market_all(venue)]
    assert trades_ticks(venue, {"market": "KRW-BTC"})[0] == 404
    before = len(venue.tape["KRW-BTC"])
    venue.produce(300, MIDNIGHT + 3_700_000)
    assert len(venue.tape["KRW-BTC"]) == before  # a delisted market stops trading
    with pytest.raises(control.ControlError):
        control.apply(venue, "list", {"code": "krw-lower"})


def test_market_all_details() -> None:
    listing = market_all(_venue(), {"is_details": "true"})
    assert listing[0]["market_event"] == {"warning": False, "caution": {
        "PRICE_FLUCTUATIONS": False, "TRADING_VOLUME_SOARING": False, "DEPOSIT_AMOUNT_SOARING": False,
        "GLOBAL_PRICE_DIFFERENCES": False, "CONCENTRATION_OF_SMALL_ACCOUNTS": False}}


def test_rest_limits_per_venue_and_remaining() -> None:
    upbit, bithumb = Venue(UPBIT, select_markets(CODES, None), VenueOptions()), \
        Venue(BITHUMB, select_markets(CODES, None), VenueOptions())
    assert upbit.rest_limiters["trade"].limit == 10 and bithumb.rest_limiters["trade"].limit == 150
    limiter = ConnectRateLimiter(10)
    assert [limiter.allow("a", now=5.0 + i * 0.01) for i in range(12)] == [True] * 10 + [False] * 2
    assert limiter.remaining("a", now=5.5) == 0 and limiter.remaining("a", now=6.2) == 10
    off = Venue(UPBIT, select_markets(CODES, None), VenueOptions(rest_limit=0))
    assert all(off.rest_limiters["trade"].allow("a", now=1.0) for _ in range(100))


def test_rest_failure_switch() -> None:
    venue = _venue()
    control.apply(venue, "rest_fail", {"seconds": "30", "status": "503"})
    assert venue.faults.rest_failing() and venue.faults.rest_fail_status == 503
    with pytest.raises(control.ControlError):
        control.apply(venue, "rest_fail", {"seconds": "1", "status": "404"})
    control.apply(venue, "clear", {})
    assert not venue.faults.rest_failing()


def test_tape_log_and_reset() -> None:
    venue = _venue()
    venue.produce(30, MIDNIGHT + 3_600_000)
    log = control.apply(venue, "tape", {})
    assert log["trade_count"] == 30 and set(log["trades"]) == set(CODES)  # type: ignore[arg-type]
    control.apply(venue, "reset", {})
    assert control.apply(venue, "tape", {})["trade_count"] == 0
