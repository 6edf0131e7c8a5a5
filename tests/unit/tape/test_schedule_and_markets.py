"""The fair backfill scheduler under a rate limit and a budget (the clock is a number), and the
market list refresh."""
from __future__ import annotations

from collections import Counter

import pytest

from tape.backfill import REASON_BUDGET, MarketBackfill
from tape.markets import MarketSelection, refresh
from tape.schedule import BackfillScheduler
from tests.unit.tape.test_backfill import MIDNIGHT_US, answer, make_tape, trade

pytestmark = pytest.mark.unit
START = MIDNIGHT_US + 3_600_000_000


def _tapes(markets: int, trades: int) -> dict[str, list]:  # type: ignore[type-arg]
    tapes = {}
    for m in range(markets):
        code = f"KRW-C{m:04d}"
        tapes[code] = [trade(t.trade_time_us, t.sequential_id, code) for t in make_tape(trades, START)]
    return tapes


def _plans(scheduler: BackfillScheduler, tapes: dict[str, list], seen_index: int = 0) -> None:  # type: ignore[type-arg]
    for code, tape in tapes.items():
        last = tape[seen_index]
        scheduler.add(MarketBackfill(code, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us))


def test_the_rate_limit_holds_in_every_one_second_window_and_markets_take_turns() -> None:
    tapes = _tapes(25, 1200)  # three pages each
    scheduler = BackfillScheduler(rate_per_second=10, budget=1000)
    _plans(scheduler, tapes)
    now, sent_at, order = 0.0, [], []
    while not scheduler.finished:
        poll = scheduler.poll(now)
        for request in poll.requests:
            sent_at.append(now)
            order.append(request.code)
            scheduler.on_page(request.code, answer(tapes[request.code], request))  # answered at once
        now += poll.wait_s if poll.wait_s else 0.05
        assert now < 60
    assert len(sent_at) == 75
    for i, t in enumerate(sent_at):  # no window of one second holds more than 10 sends
        assert sum(1 for u in sent_at[i:] if u - t < 1.0) <= 10
    assert order[:25] == list(tapes)  # every market had its first request before any its second
    assert Counter(order[:50]) == Counter({code: 2 for code in tapes})
    outcomes = scheduler.take_outcomes()
    assert len(outcomes) == 25 and all(o.closed for o in outcomes)
    assert scheduler.take_outcomes() == []


def test_one_request_in_flight_per_market() -> None:
    tapes = _tapes(2, 1200)
    scheduler = BackfillScheduler(rate_per_second=10, budget=100)
    _plans(scheduler, tapes)
    first = scheduler.poll(0.0)
    assert [r.code for r in first.requests] == list(tapes) and first.wait_s is None
    assert scheduler.poll(0.5).requests == ()
    code = first.requests[0].code
    scheduler.on_page(code, answer(tapes[code], first.requests[0]))
    assert [r.code for r in scheduler.poll(0.6).requests] == [code]


def test_a_spent_budget_ends_the_open_markets_with_a_gap() -> None:
    tapes = _tapes(3, 1200)
    scheduler = BackfillScheduler(rate_per_second=100, budget=5)
    _plans(scheduler, tapes)
    now = 0.0
    while not scheduler.finished:
        poll = scheduler.poll(now)
        for request in poll.requests:
            scheduler.on_page(request.code, answer(tapes[request.code], request))
        now += 0.1
        assert now < 10
    outcomes = {o.code: o for o in scheduler.take_outcomes()}
    assert scheduler.sent == 5
    reasons = Counter(o.reason for o in outcomes.values())
    assert reasons == Counter({REASON_BUDGET: 3})  # 5 requests cannot finish three 3-page markets
    assert all(not o.closed and o.trades for o in outcomes.values())


def test_429_pauses_every_send_and_costs_no_budget() -> None:
    tapes = _tapes(3, 100)
    scheduler = BackfillScheduler(rate_per_second=10, budget=3, pause_s=1.0)
    _plans(scheduler, tapes)
    poll = scheduler.poll(0.0)
    assert len(poll.requests) == 3
    limited = poll.requests[0]
    scheduler.on_rate_limited(limited.code, now=0.1)
    for request in poll.requests[1:]:
        scheduler.on_page(request.code, answer(tapes[request.code], request))
    paused = scheduler.poll(0.5)
    assert paused.requests == () and paused.wait_s == pytest.approx(0.6)
    again = scheduler.poll(1.2)
    assert [r.code for r in again.requests] == [limited.code]
    scheduler.on_page(limited.code, answer(tapes[limited.code], again.requests[0]))
    assert scheduler.finished and all(o.closed for o in scheduler.take_outcomes())


def test_failures_are_retried_then_a_gap() -> None:
    tapes = _tapes(1, 100)
    scheduler = BackfillScheduler(rate_per_second=10, budget=10)
    _plans(scheduler, tapes)
    code = next(iter(tapes))
    for t in range(3):
        (request,) = scheduler.poll(float(t)).requests
        scheduler.on_failure(code)
    (outcome,) = scheduler.take_outcomes()
    assert outcome.reason == "rest_failed" and not outcome.closed and scheduler.finished
    with pytest.raises(KeyError):
        scheduler.on_page(code, [])


def test_scheduler_arguments() -> None:
    with pytest.raises(ValueError):
        BackfillScheduler(rate_per_second=0, budget=1)
    with pytest.raises(ValueError):
        BackfillScheduler(rate_per_second=1, budget=-1)


LISTED = ["KRW-BTC", "KRW-ETH", "BTC-ETH", "USDT-BTC", "KRW-XRP"]


def test_all_markets_of_the_quote_currencies_minus_exclusions() -> None:
    assert MarketSelection.of("all").select(LISTED) == ("KRW-BTC", "KRW-ETH", "KRW-XRP")
    assert MarketSelection.of("ALL", exclude=["krw-eth"]).select(LISTED) == ("KRW-BTC", "KRW-XRP")
    assert MarketSelection.of("all", quotes=["KRW", "usdt"]).select(LISTED) == ("KRW-BTC", "KRW-ETH", "USDT-BTC",
                                                                                "KRW-XRP")
    configured = MarketSelection.of(["KRW-XRP", "krw-btc", "KRW-GONE"], exclude=["KRW-BTC"])
    assert configured.select(LISTED) == ("KRW-XRP",)  # configured order; unlisted and excluded left out
    for bad in ({"markets": "some"}, {"markets": "all", "quotes": []}):
        with pytest.raises(ValueError):
            MarketSelection.of(**bad)  # type: ignore[arg-type]


def test_refresh_reports_added_and_removed_and_a_failure_keeps_the_last_list() -> None:
    selection = MarketSelection.of("all")
    first = refresh(selection, (), LISTED)
    assert first.markets == first.added == ("KRW-BTC", "KRW-ETH", "KRW-XRP") and first.removed == ()
    second = refresh(selection, first.markets, ["KRW-BTC", "KRW-NEW", "KRW-XRP"])
    assert (second.markets, second.added, second.removed) == (("KRW-BTC", "KRW-NEW", "KRW-XRP"), ("KRW-NEW",),
                                                              ("KRW-ETH",))
    assert second.changed and not second.failed
    failed = refresh(selection, second.markets, None)
    assert failed.failed and failed.markets == second.markets and not failed.changed
    same = refresh(selection, second.markets, ["KRW-XRP", "KRW-BTC", "KRW-NEW"])
    assert not same.changed
    listed_again = refresh(MarketSelection.of(["KRW-ETH", "KRW-BTC"]), ("KRW-BTC",), LISTED)
    assert listed_again.added == ("KRW-ETH",) and listed_again.markets == ("KRW-ETH", "KRW-BTC")
