"""The backfill pieces against the simulator over real HTTP: the plan and the scheduler page
``/v1/trades/ticks`` under Upbit's limit, ``exchanges.rest`` reads the answers, and the trades
recovered are exactly the ones the simulator's markets made while nobody was connected (its tape
log), or, beyond the REST horizon, what REST still held plus a gap."""
from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from domain.records import Exchange
from exchanges.rest import TRADE_REQUESTS_PER_SECOND, TRADE_TICKS_PATH, parse_trade_ticks, trade_ticks_query
from tape.backfill import REASON_HORIZON, BackfillOutcome, MarketBackfill
from tape.schedule import BackfillScheduler

pytestmark = pytest.mark.integration
SID_FACTOR = 10_000  # the simulator's ids: trade_timestamp_ms * 10000 + n


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _backfill(sim: Any, last_seen: dict[str, int], budget: int = 500) -> tuple[list[BackfillOutcome], int]:
    """Run one reconnect's backfill of `last_seen` (code -> id of the last trade seen) to the end;
    returns the outcomes and how many answers were 429."""
    scheduler = BackfillScheduler(TRADE_REQUESTS_PER_SECOND[Exchange.UPBIT], budget)
    now_us = time.time_ns() // 1000
    for code, sid in last_seen.items():
        scheduler.add(MarketBackfill(code, sid, sid // SID_FACTOR * 1000, now_us, known={sid}))
    limited = 0
    deadline = time.monotonic() + 60
    while not scheduler.finished:
        assert time.monotonic() < deadline, "backfill did not end within 60 s"
        poll = scheduler.poll(time.monotonic())
        for request in poll.requests:
            query = trade_ticks_query(request.code, request.count, request.cursor, request.days_ago)
            status, body = _get(f"{sim.upbit_rest}{TRADE_TICKS_PATH}?{urllib.parse.urlencode(query)}")
            if status == 429:
                limited += 1
                scheduler.on_rate_limited(request.code, time.monotonic())
            elif status != 200:
                scheduler.on_failure(request.code)
            else:
                page = parse_trade_ticks(body, Exchange.UPBIT, time.time_ns() // 1000, code=request.code)
                scheduler.on_page(request.code, page.records, len(page.rejected))
        time.sleep(poll.wait_s if poll.wait_s else 0.01)
    return scheduler.take_outcomes(), limited


def _last_made(sim: Any) -> dict[str, int]:
    return {code: sids[-1] for code, sids in sim.control("tape")["trades"].items()}


def test_backfill_recovers_exactly_the_trades_made_while_away(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(market_count=20, rate=400, trade_ratio=1.0)
    sim.reset()
    time.sleep(0.5)
    last_seen = _last_made(sim)  # what a client had read before it dropped
    assert len(last_seen) == 20
    time.sleep(2.0)  # away: the markets go on trading
    sim.set_rate(0)
    tape = sim.control("tape")["trades"]
    started = time.monotonic()
    outcomes, limited = _backfill(sim, last_seen)
    elapsed = time.monotonic() - started
    assert len(outcomes) == 20 and all(o.closed and o.reason == "" for o in outcomes)
    for outcome in outcomes:
        made = tape[outcome.code]
        missed = made[made.index(last_seen[outcome.code]) + 1:]
        assert [t.sequential_id for t in outcome.trades] == missed, outcome.code  # each once, in trade order
    recovered = sum(len(o.trades) for o in outcomes)
    print(f"\nbackfill of 20 markets: {recovered} trades in {elapsed:.2f} s, "
          f"{sum(o.requests for o in outcomes)} requests, {limited} answered 429")


def test_a_hole_beyond_the_rest_horizon_is_a_gap_with_what_rest_still_held(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(markets=["KRW-BTC", "KRW-ETH"], rate=400, trade_ratio=1.0, rest_history=50)
    sim.reset()
    time.sleep(0.3)
    last_seen = _last_made(sim)
    time.sleep(1.5)  # about 300 trades per market: far more than the 50 REST keeps
    sim.set_rate(0)
    tape = sim.control("tape")["trades"]
    outcomes, _ = _backfill(sim, last_seen)
    for outcome in outcomes:
        assert not outcome.closed and outcome.reason == REASON_HORIZON
        assert [t.sequential_id for t in outcome.trades] == tape[outcome.code][-50:]  # nothing invented
        assert outcome.from_time_us == last_seen[outcome.code] // SID_FACTOR * 1000
        assert outcome.to_time_us == outcome.trades[0].trade_time_us
