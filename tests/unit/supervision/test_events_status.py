"""The events producer's counts and the messages-per-second history in the status snapshot
(supervision.status_book, supervision.rate_history)."""
from __future__ import annotations

import pytest

from messages import ConnectorStats, EventsReport
from supervision.rate_history import RateHistory
from supervision.status_book import StatusBook

pytestmark = pytest.mark.unit
S = 1_000_000


def report(published: int, failed: int = 0, gaps: int = 0, backfilled: int = 0,
           recent: tuple[dict[str, object], ...] = ()) -> EventsReport:
    return EventsReport({"upbit": published}, {"upbit": failed} if failed else {}, {"upbit": gaps} if gaps else {},
                        {"upbit": backfilled} if backfilled else {}, recent=recent)


def test_event_counts_show_per_exchange_from_the_start_and_survive_a_producer_restart() -> None:
    book = StatusBook(0)
    book.expect_events(["upbit", "bithumb"])
    snap = book.snapshot(1, True)
    assert snap.events["enabled"] is True
    assert snap.events["by_exchange"]["bithumb"] == {"published": 0, "failed": 0, "gaps": 0, "backfilled_trades": 0}
    row = {"kind": "GAP", "exchange": "upbit", "at_us": 5}
    book.on_events_report(report(5, failed=1, gaps=2, backfilled=30, recent=(row,)))
    book.on_events_report(report(1, gaps=1, backfilled=4))  # a restarted producer counts from zero again
    events = book.snapshot(2, True).events
    assert events["by_exchange"]["upbit"] == {"published": 6, "failed": 1, "gaps": 3, "backfilled_trades": 34}
    assert events["recent"] == [row]  # the restarted producer has none yet: the earlier ones stay


def test_without_an_events_producer_the_status_says_events_are_off() -> None:
    assert StatusBook(0).snapshot(1, True).events["enabled"] is False


def test_the_rate_history_gives_messages_per_second_per_exchange_between_samples() -> None:
    history = RateHistory(bucket_s=10, span_s=60)
    history.sample(100 * S, {"upbit": 0, "bithumb": 0})
    history.sample(105 * S, {"upbit": 500, "bithumb": 50})  # same bucket: replaces the sample
    history.sample(115 * S, {"upbit": 1500, "bithumb": 50})
    history.sample(125 * S, {"upbit": 1600, "bithumb": 250})
    assert history.points(125 * S) == [
        {"t_us": 115 * S, "rates": {"upbit": 100.0, "bithumb": 0.0}},
        {"t_us": 125 * S, "rates": {"upbit": 10.0, "bithumb": 20.0}},
    ]
    # older than the span: gone
    assert [p["t_us"] for p in history.points(180 * S)] == [125 * S]


def test_the_status_book_samples_each_exchanges_received_total_for_the_history() -> None:
    book = StatusBook(0)
    for at, n in ((100, 0), (110, 200), (120, 600)):
        book.on_connector_stats(ConnectorStats("upbit-0", "upbit", ("KRW-BTC",), n, 0, 0, 0, 0, 0))
        book.on_connector_stats(ConnectorStats("upbit-1", "upbit", ("KRW-ETH",), n, 0, 0, 0, 0, 0))
        book.sample_rates(at * S)
    history = book.snapshot(120 * S, True).rate_history
    assert history["bucket_s"] == 10.0
    assert [p["rates"]["upbit"] for p in history["points"]] == [40.0, 80.0]
