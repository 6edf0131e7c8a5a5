"""The backfill plan of one market against a REST tape that answers as the exchanges document it:
newest first, one UTC trade date per answer, ``days_ago`` for earlier dates, ``cursor`` continuing
after a trade, a bounded history. No I/O: the tape is a list."""
from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from domain.records import Exchange, TradeRecord
from tape.backfill import (
    DAY_US,
    REASON_HORIZON,
    REASON_REJECTED,
    REASON_REST_FAILED,
    MarketBackfill,
    TickRequest,
)

pytestmark = pytest.mark.unit
MIDNIGHT_US = 1_790_208_000_000_000  # a UTC midnight
CODE = "KRW-BTC"


def trade(time_us: int, sid: int, code: str = CODE) -> TradeRecord:
    return TradeRecord(Exchange.UPBIT, code, "100", "1", "BID", time_us, time_us, time_us, sid, "")


def make_tape(count: int, start_us: int, step_us: int = 1000, shuffle_ids: bool = False) -> list[TradeRecord]:
    """`count` trades, oldest first; with shuffle_ids, ids follow no order (as the exchange warns)."""
    ids = list(range(10**16, 10**16 + count))
    if shuffle_ids:
        random.Random(7).shuffle(ids)
    return [trade(start_us + i * step_us, ids[i]) for i in range(count)]


def answer(tape: Sequence[TradeRecord], request: TickRequest, horizon: int | None = None) -> list[TradeRecord]:
    """What the exchange answers: the kept history (the last `horizon` trades), newest first, of one
    UTC date (the latest trade's, or `days_ago` earlier), after the trade `cursor` names."""
    kept = list(tape if horizon is None else tape[-horizon:])
    if not kept:
        return []
    day = tape[-1].trade_time_us // DAY_US - (request.days_ago or 0)
    page = [t for t in reversed(kept) if t.trade_time_us // DAY_US == day]
    if request.cursor is not None:
        ids = [t.sequential_id for t in page]
        page = page[ids.index(request.cursor) + 1:] if request.cursor in ids else []
    return page[:request.count]


def run(plan: MarketBackfill, tape: Sequence[TradeRecord], horizon: int | None = None) -> list[TickRequest]:
    asked = []
    while (request := plan.next_request()) is not None:
        asked.append(request)
        plan.on_page(answer(tape, request, horizon))
        assert len(asked) < 100
    return asked


def test_pages_back_to_the_last_trade_seen_and_publishes_the_rest_in_time_order() -> None:
    tape = make_tape(1500, MIDNIGHT_US + 3_600_000_000)
    last = tape[299]
    plan = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us)
    asked = run(plan, tape)
    outcome = plan.outcome
    assert outcome is not None and outcome.closed and outcome.reason == ""
    assert outcome.trades == tuple(tape[300:])
    assert [r.cursor for r in asked] == [None, tape[1000].sequential_id, tape[500].sequential_id]
    assert all(r.days_ago is None and r.count == 500 for r in asked)
    assert (outcome.from_time_us, outcome.to_time_us, outcome.requests) == (last.trade_time_us,
                                                                           tape[-1].trade_time_us, 3)


def test_ids_without_order_stop_by_time_and_dedupe_by_id() -> None:
    tape = make_tape(700, MIDNIGHT_US + 3_600_000_000, step_us=250, shuffle_ids=True)
    last = tape[99]
    plan = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us, count=100)
    run(plan, tape)
    assert plan.outcome is not None and plan.outcome.closed
    assert plan.outcome.trades == tuple(tape[100:])
    repeated = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us, count=300)
    page = answer(tape, TickRequest(CODE, 500))
    repeated.on_page(page[:300])
    repeated.on_page(page[200:] + [tape[50]])  # overlapping pages, then older than the last seen
    assert repeated.outcome is not None and repeated.outcome.closed
    assert repeated.outcome.trades == tuple(sorted(set(page), key=lambda t: t.trade_time_us))


def test_trades_of_the_same_millisecond_as_the_last_one_seen_are_kept_unless_known() -> None:
    tape = [trade(MIDNIGHT_US + 5_000, sid) for sid in (30, 10, 20)] + [trade(MIDNIGHT_US + 6_000, 5)]
    plan = MarketBackfill(CODE, 10, MIDNIGHT_US + 5_000, MIDNIGHT_US + 6_000, known={30})
    run(plan, tape + [trade(MIDNIGHT_US + 6_000, 1)])
    assert plan.outcome is not None
    assert [t.sequential_id for t in plan.outcome.trades] == [20, 1, 5]  # by time, then id
    assert plan.outcome.closed  # the last trade seen was found: nothing after it is missing


def test_known_ids_streamed_since_the_reconnect_are_not_published_again() -> None:
    tape = make_tape(50, MIDNIGHT_US + 10_000_000)
    last = tape[9]
    streamed = {t.sequential_id for t in tape[40:]}
    plan = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[40].trade_time_us,
                          known=streamed.__contains__)
    run(plan, tape)
    assert plan.outcome is not None and plan.outcome.closed and plan.outcome.trades == tuple(tape[10:40])


def test_a_hole_across_a_utc_midnight_continues_with_days_ago() -> None:
    tape = make_tape(900, MIDNIGHT_US - 400_000, step_us=1000)  # 400 trades before midnight, 500 after
    last = tape[150]
    plan = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us, count=200)
    asked = run(plan, tape)
    assert plan.outcome is not None and plan.outcome.closed
    assert plan.outcome.trades == tuple(tape[151:])
    assert [r.days_ago for r in asked] == [None, None, None, 1, 1]
    assert asked[3].cursor is None  # a new date starts from its newest trade


def test_the_last_trade_seen_as_the_oldest_rest_holds_closes_the_hole() -> None:
    tape = make_tape(300, MIDNIGHT_US + 3_600_000_000)
    plan = MarketBackfill(CODE, tape[0].sequential_id, tape[0].trade_time_us, tape[-1].trade_time_us)
    run(plan, tape)
    assert plan.outcome is not None and plan.outcome.closed and plan.outcome.trades == tuple(tape[1:])


def test_beyond_the_rest_horizon_is_a_gap_and_nothing_is_invented() -> None:
    tape = make_tape(1000, MIDNIGHT_US + 3_600_000_000)
    last = tape[100]
    plan = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us)
    run(plan, tape, horizon=300)
    outcome = plan.outcome
    assert outcome is not None and not outcome.closed and outcome.reason == REASON_HORIZON
    assert outcome.trades == tuple(tape[700:])  # what REST still held is published
    assert (outcome.from_time_us, outcome.to_time_us) == (last.trade_time_us, tape[700].trade_time_us)


def test_an_empty_history_is_a_gap_up_to_the_resume() -> None:
    plan = MarketBackfill(CODE, 1, MIDNIGHT_US, MIDNIGHT_US + 9_000_000)
    plan.on_page([])
    assert plan.outcome is not None and not plan.outcome.closed and plan.outcome.reason == REASON_HORIZON
    assert (plan.outcome.from_time_us, plan.outcome.to_time_us) == (MIDNIGHT_US, MIDNIGHT_US + 9_000_000)
    assert plan.next_request() is None


def test_the_horizon_of_seven_days_ends_the_paging() -> None:
    last_seen = MIDNIGHT_US - 9 * DAY_US
    tape = [trade(MIDNIGHT_US + 1000, 99)]
    plan = MarketBackfill(CODE, 1, last_seen, MIDNIGHT_US + 1000)
    asked = run(plan, tape)
    assert [r.days_ago for r in asked] == [None, 1, 2, 3, 4, 5, 6, 7]
    assert plan.outcome is not None and plan.outcome.reason == REASON_HORIZON
    assert plan.outcome.trades == (tape[0],)


def test_rest_failing_gives_up_after_failures_in_a_row() -> None:
    tape = make_tape(2000, MIDNIGHT_US + 3_600_000_000)
    last = tape[10]
    plan = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us, max_failures=3)
    plan.on_page(answer(tape, plan.next_request()))  # type: ignore[arg-type]
    request = plan.next_request()
    assert plan.on_failure() is False and plan.next_request() == request  # retried as it was
    plan.on_page(answer(tape, request))  # type: ignore[arg-type]
    assert [plan.on_failure() for _ in range(3)] == [False, False, True]
    outcome = plan.outcome
    assert outcome is not None and outcome.reason == REASON_REST_FAILED and not outcome.closed
    assert outcome.trades == tuple(tape[1000:])
    assert (outcome.from_time_us, outcome.to_time_us) == (last.trade_time_us, tape[1000].trade_time_us)


def test_unreadable_ticks_inside_the_hole_leave_it_open() -> None:
    tape = make_tape(100, MIDNIGHT_US + 3_600_000_000)
    last = tape[50]
    plan = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us)
    page = answer(tape, plan.next_request())  # type: ignore[arg-type]
    plan.on_page([t for t in page if t is not tape[80]], rejected=1)
    outcome = plan.outcome
    assert outcome is not None and not outcome.closed and outcome.reason == REASON_REJECTED
    assert outcome.rejected == 1 and len(outcome.trades) == 48


def test_abandon_keeps_what_was_fetched() -> None:
    tape = make_tape(1200, MIDNIGHT_US + 3_600_000_000)
    last = tape[0]
    plan = MarketBackfill(CODE, last.sequential_id, last.trade_time_us, tape[-1].trade_time_us)
    plan.on_page(answer(tape, plan.next_request()))  # type: ignore[arg-type]
    plan.abandon()
    outcome = plan.outcome
    assert outcome is not None and outcome.reason == "budget" and outcome.trades == tuple(tape[700:])
    assert outcome.to_time_us == tape[700].trade_time_us


def test_an_answer_that_ignores_the_cursor_ends_the_paging() -> None:
    tape = make_tape(2000, MIDNIGHT_US + 3_600_000_000)
    plan = MarketBackfill(CODE, tape[0].sequential_id, tape[0].trade_time_us, tape[-1].trade_time_us)
    newest = answer(tape, TickRequest(CODE, 500))
    plan.on_page(newest)
    plan.on_page(newest)  # the same page again, whatever the cursor said
    assert plan.outcome is not None and plan.outcome.reason == REASON_REST_FAILED
    assert plan.outcome.trades == tuple(tape[1500:])


def test_count_bounds() -> None:
    with pytest.raises(ValueError):
        MarketBackfill(CODE, 1, 1, 1, count=501)
