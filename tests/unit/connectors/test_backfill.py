"""The backfill of one connection after a reconnect: plans from the last trades, pacing, answers,
outcomes and counts; the frame pipeline's side (last trades, dedupe across stream and REST, the
``rest`` source); the record channel and Kafka headers carrying the source; the settings."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from actors.record_channel import decode_records, encode_records
from connectors.backfill import (
    REASON_INTERRUPTED,
    ConnectionBackfill,
    outcome_event,
    rest_rate,
    supports_backfill,
)
from connectors.frame_pipeline import FramePipeline
from domain.config import DEFAULT_BACKFILL_BUDGET
from domain.market_data import SOURCE_REST, MarketDataMessage
from domain.records import ConnectionEventKind, Exchange, TradeRecord
from domain.settings import KafkaSettings
from publishers.delivery import DeliveryBook
from settings.errors import SettingsError
from settings.loader import load_settings
from tape.backfill import REASON_BUDGET, REASON_HORIZON, REASON_REST_FAILED, BackfillOutcome
from tests.unit.connectors.fakes import FakeAdapter, config, encode, trade

pytestmark = pytest.mark.unit
T0 = 1_764_633_600_000_000  # 2025-12-02 00:00:00 UTC, in microseconds


def tick(code: str, sid: int, time_us: int) -> dict[str, Any]:
    return {"market": code, "trade_date_utc": "2025-12-02", "trade_time_utc": "00:00:00",
            "timestamp": time_us // 1000, "trade_price": "100.5", "trade_volume": "0.1",
            "prev_closing_price": "100", "change_price": "0.5", "ask_bid": "BID", "sequential_id": sid}


def body(*ticks: dict[str, Any]) -> bytes:
    return json.dumps(list(ticks)).encode()


def never_known(code: str, sid: int) -> bool:
    return False


def started(codes: list[str], last: dict[str, tuple[int, int]], rate: float = 10, budget: int = 100,
            known: Any = never_known) -> ConnectionBackfill:
    backfill = ConnectionBackfill("upbit", rate, budget)
    backfill.begin(codes, last, since_us=T0, resume_us=T0 + 10_000_000, known=known)
    return backfill


def test_a_hole_is_closed_with_the_trades_after_the_last_one_seen_in_trade_time_order() -> None:
    backfill = started(["KRW-BTC"], {"KRW-BTC": (T0 + 1000_000, 1)})
    calls, _ = backfill.poll(0.0)
    assert [(c.tag, c.path, c.query) for c in calls] == [
        ((1, "KRW-BTC"), "/v1/trades/ticks", {"market": "KRW-BTC", "count": "500"})]
    page = body(tick("KRW-BTC", 4, T0 + 4000_000), tick("KRW-BTC", 3, T0 + 3000_000),
                tick("KRW-BTC", 2, T0 + 2000_000), tick("KRW-BTC", 1, T0 + 1000_000))
    backfill.on_answer(calls[0].tag, 200, page, 0.1, T0 + 11_000_000)
    [outcome] = backfill.take_outcomes()
    assert outcome.closed and outcome.reason == ""
    assert [t.sequential_id for t in outcome.trades] == [2, 3, 4]
    assert (outcome.from_time_us, outcome.to_time_us) == (T0 + 1000_000, T0 + 10_000_000)
    assert not backfill.active
    assert (backfill.counts.requests, backfill.counts.closed, backfill.counts.gaps) == (1, 1, 0)


def test_trades_already_forwarded_are_not_recovered_again() -> None:
    backfill = started(["KRW-BTC"], {"KRW-BTC": (T0, 1)}, known=lambda code, sid: sid == 3)
    calls, _ = backfill.poll(0.0)
    backfill.on_answer(calls[0].tag, 200, body(tick("KRW-BTC", 3, T0 + 3000_000), tick("KRW-BTC", 2, T0 + 2000_000),
                                               tick("KRW-BTC", 1, T0)), 0.1, T0)
    assert [t.sequential_id for t in backfill.take_outcomes()[0].trades] == [2]


def test_a_market_without_a_trade_seen_starts_from_when_the_previous_connection_subscribed() -> None:
    backfill = started(["KRW-ETH"], {})
    calls, _ = backfill.poll(0.0)
    # newest first: two trades after the subscription, one before it (the hole ends there)
    backfill.on_answer(calls[0].tag, 200, body(tick("KRW-ETH", 9, T0 + 2000_000), tick("KRW-ETH", 8, T0 + 1000_000),
                                               tick("KRW-ETH", 7, T0 - 1000_000)), 0.1, T0)
    [outcome] = backfill.take_outcomes()
    assert outcome.closed and [t.sequential_id for t in outcome.trades] == [8, 9]


def test_a_429_pauses_every_request_and_costs_no_budget() -> None:
    backfill = started(["KRW-BTC"], {"KRW-BTC": (T0, 1)}, budget=1)
    calls, _ = backfill.poll(0.0)
    backfill.on_answer(calls[0].tag, 429, b"", 0.0, T0, retry_after_s=2.0)
    assert backfill.poll(1.0) == ([], pytest.approx(1.0))  # paused for the Retry-After
    again, _ = backfill.poll(2.0)
    assert [c.tag for c in again] == [(1, "KRW-BTC")]
    backfill.on_answer(again[0].tag, 200, body(tick("KRW-BTC", 1, T0)), 2.1, T0)
    assert backfill.take_outcomes()[0].closed
    assert (backfill.counts.rate_limited, backfill.counts.requests) == (1, 2)


def test_repeated_failures_end_the_market_with_a_gap() -> None:
    backfill = started(["KRW-BTC"], {"KRW-BTC": (T0, 1)})
    for n in range(3):
        calls, _ = backfill.poll(float(n))
        backfill.on_answer(calls[0].tag, None if n else 500, b"not json" if n == 2 else b"", float(n), T0)
    [outcome] = backfill.take_outcomes()
    assert not outcome.closed and outcome.reason == REASON_REST_FAILED
    assert (backfill.counts.failures, backfill.counts.gaps, backfill.counts.gap_reasons) == (
        3, 1, {REASON_REST_FAILED: 1})


def test_an_answer_that_is_not_json_is_a_failure() -> None:
    backfill = started(["KRW-BTC"], {"KRW-BTC": (T0, 1)})
    calls, _ = backfill.poll(0.0)
    backfill.on_answer(calls[0].tag, 200, b"<html>", 0.0, T0)
    assert backfill.counts.failures == 1 and backfill.active


def test_the_budget_bounds_the_requests_of_one_reconnect() -> None:
    backfill = started(["KRW-BTC", "KRW-ETH"], {"KRW-BTC": (T0, 1), "KRW-ETH": (T0, 2)}, budget=1)
    calls, _ = backfill.poll(0.0)
    assert len(calls) == 1
    outcomes = backfill.take_outcomes()
    assert [(o.code, o.reason) for o in outcomes] == [("KRW-ETH", REASON_BUDGET)]


def test_the_rate_limit_spreads_requests_evenly_over_seconds() -> None:
    codes = [f"KRW-C{i}" for i in range(5)]
    backfill = started(codes, {c: (T0, i + 1) for i, c in enumerate(codes)}, rate=2)
    calls, wait = backfill.poll(0.0)
    assert [c.tag[1] for c in calls] == ["KRW-C0"] and wait == pytest.approx(0.5)  # one every 1/rate s
    assert backfill.poll(0.2) == ([], pytest.approx(0.3))
    calls, wait = backfill.poll(0.5)
    assert [c.tag[1] for c in calls] == ["KRW-C1"] and wait == pytest.approx(0.5)  # the second's two are out
    assert backfill.poll(0.9)[0] == []
    assert [c.tag[1] for c in backfill.poll(1.0)[0]] == ["KRW-C2"]


def test_a_reconnect_during_a_backfill_ends_the_open_markets_and_ignores_old_answers() -> None:
    backfill = started(["KRW-BTC"], {"KRW-BTC": (T0, 1)})
    old, _ = backfill.poll(0.0)
    backfill.begin(["KRW-BTC"], {"KRW-BTC": (T0 + 5000_000, 5)}, T0, T0 + 20_000_000, never_known)
    [interrupted] = backfill.take_outcomes()
    assert not interrupted.closed and interrupted.reason == REASON_INTERRUPTED
    backfill.on_answer(old[0].tag, 200, body(tick("KRW-BTC", 1, T0)), 0.1, T0)  # ignored
    assert backfill.take_outcomes() == [] and backfill.active
    new, _ = backfill.poll(0.2)
    assert [c.tag for c in new] == [(2, "KRW-BTC")]


def test_abandon_keeps_what_was_fetched_and_reports_the_rest_as_a_gap() -> None:
    backfill = started(["KRW-BTC"], {"KRW-BTC": (T0, 1)})
    calls, _ = backfill.poll(0.0)
    page = body(*[tick("KRW-BTC", 1000 - i, T0 + (1000 - i) * 1000) for i in range(500)])  # a full page
    backfill.on_answer(calls[0].tag, 200, page, 0.1, T0)
    backfill.abandon("stopped")
    [outcome] = backfill.take_outcomes()
    assert not outcome.closed and outcome.reason == "stopped" and len(outcome.trades) == 500


def test_each_connection_gets_its_share_of_the_exchange_s_rest_rate() -> None:
    assert rest_rate("upbit", 1.0) == 9 and rest_rate("upbit", 0.5) == 4.5 and rest_rate("upbit", 0.01) == 1
    assert rest_rate("bithumb", 1 / 3) == pytest.approx(45)
    assert supports_backfill("upbit") and supports_backfill("bithumb") and not supports_backfill("bithumb-legacy")


def test_each_market_s_outcome_is_a_backfilled_or_a_gap_event() -> None:
    closed = BackfillOutcome("KRW-BTC", True, (), T0, T0 + 5, "", 1, 0)
    gap = BackfillOutcome("KRW-ETH", False, (), T0, T0 + 7, REASON_HORIZON, 2, 0)
    done = outcome_event("upbit", "upbit-0", closed, 12, T0 + 9)
    assert (done.kind, done.codes, done.from_time_us, done.to_time_us, done.trades_recovered, done.gap_closed,
            done.reason, done.exchange, done.event_time_us) == (
        ConnectionEventKind.BACKFILLED, ("KRW-BTC",), T0, T0 + 5, 12, True, "", Exchange.UPBIT, T0 + 9)
    missing = outcome_event("upbit", "upbit-0", gap, 3, T0 + 9)
    assert (missing.kind, missing.gap_closed, missing.reason, missing.to_time_us, missing.trades_recovered) == (
        ConnectionEventKind.GAP, False, REASON_HORIZON, T0 + 7, 3)


# --- the frame pipeline's side --------------------------------------------------------------------

def rest_trade(code: str, sid: int, time_us: int) -> TradeRecord:
    return TradeRecord(Exchange.UPBIT, code, "1", "1", "BID", time_us, time_us, time_us, sid, "")


def test_the_pipeline_keeps_each_code_s_latest_trade_by_trade_time() -> None:
    p = FramePipeline(FakeAdapter(), ["KRW-BTC"], encode)
    p.admit_backfill([rest_trade("KRW-BTC", 7, T0 + 5), rest_trade("KRW-BTC", 3, T0 + 9),
                      rest_trade("KRW-BTC", 5, T0 + 2)], 0, T0)
    assert p.last_trades == {"KRW-BTC": (T0 + 9, 3)}  # ids are not ordered: time decides


def test_a_market_no_longer_carried_leaves_the_pipeline_s_last_trades() -> None:
    p = FramePipeline(FakeAdapter(), ["KRW-BTC", "KRW-ETH"], encode)
    p.admit_backfill([rest_trade("KRW-BTC", 7, T0 + 5), rest_trade("KRW-ETH", 3, T0 + 9)], 0, T0)
    p.set_codes(["KRW-ETH"])
    assert p.last_trades == {"KRW-ETH": (T0 + 9, 3)}


def test_recovered_trades_are_marked_rest_and_deduped_against_the_stream() -> None:
    p = FramePipeline(FakeAdapter(), ["KRW-BTC"], encode)
    assert [r.source for r in p.process(trade("KRW-BTC", 5), 1).records] == [""]
    out = p.admit_backfill([rest_trade("KRW-BTC", 5, T0), rest_trade("KRW-BTC", 6, T0 + 1),
                            rest_trade("KRW-XRP", 8, T0)], 2, T0)
    assert [(r.sequential_id, r.source) for r in out] == [(6, SOURCE_REST)]
    assert p.process(trade("KRW-BTC", 6), 2).records == ()  # the stream repeats it: not again
    assert p.seen("KRW-BTC", 6) and not p.seen("KRW-BTC", 99)
    assert p.counters.duplicates == 2 and p.counters.unsubscribed == 1
    assert p.counters.invalid == 2 and p.counters.dropped[("trade", "invalid")] == 2  # unreadable ticks


# --- carrying the source --------------------------------------------------------------------------

def test_the_record_channel_carries_the_source() -> None:
    records = [MarketDataMessage("upbit", "trade", "KRW-BTC", b"a", 1, 2),
               MarketDataMessage("upbit", "trade", "KRW-BTC", b"b", 3, 4, SOURCE_REST)]
    [frame] = encode_records(records)
    assert decode_records(frame[5:]) == records


def test_backfilled_records_get_the_source_header_and_the_same_topic() -> None:
    book = DeliveryBook(KafkaSettings(), "trade")
    streamed = book.route(MarketDataMessage("upbit", "trade", "KRW-BTC", b"a", 1, 2))
    rest = book.route(MarketDataMessage("upbit", "trade", "KRW-BTC", b"a", 1, 2, SOURCE_REST))
    assert rest[0] == streamed[0]
    assert "source" not in dict(streamed[1]) and dict(rest[1])["source"] == b"rest"
    assert rest[1][:len(streamed[1])] == streamed[1]


# --- settings -------------------------------------------------------------------------------------

CONF = """
exchanges:
  - name: upbit
    ws_url: wss://api.upbit.com/websocket/v1
    rest_url: https://api.upbit.com
    markets: [KRW-BTC]
"""


def test_backfill_is_on_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    assert config().backfill is True and config().backfill_budget == DEFAULT_BACKFILL_BUDGET
    path = tmp_path / "conf.yaml"
    path.write_text(CONF + "    backfill: false\n    backfill_budget: 50\n")
    [cfg] = load_settings(path, environ={}, dotenv_path=tmp_path / "none.env").exchanges
    assert (cfg.backfill, cfg.backfill_budget) == (False, 50)
    path.write_text(CONF + "    backfill_budget: -1\n")
    with pytest.raises(SettingsError, match="backfill_budget"):
        load_settings(path, environ={}, dotenv_path=tmp_path / "none.env")
    with pytest.raises(Exception, match="backfill must be true or false"):
        config(backfill="yes")
