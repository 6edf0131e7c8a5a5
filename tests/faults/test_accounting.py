"""The fault suite's accounting rules, on hand-made logs (pure)."""
from __future__ import annotations

import pytest

from tests.faults.accounting import (
    KrwfeedCounters,
    account_orderbooks,
    account_trades,
    format_table,
    table_rows,
)

pytestmark = [pytest.mark.unit, pytest.mark.faults]

SENT = [{"exchange": "upbit", "trades": {"KRW-BTC": [1, 2, 3, 3], "KRW-ETH": [7]}, "orderbooks": {"KRW-BTC": 4}},
        {"exchange": "bithumb", "trades": {"KRW-BTC": [1]}, "orderbooks": {}}]


def counters(received: int = 5, **dropped: int) -> KrwfeedCounters:
    return KrwfeedCounters(received={"trade": received, "orderbook": 4},
                           dropped={tuple(k.split("__")): v for k, v in dropped.items()})  # type: ignore[misc]


def test_everything_delivered_once_is_accounted() -> None:
    kafka = [("upbit", "KRW-BTC", 1), ("upbit", "KRW-BTC", 2), ("upbit", "KRW-BTC", 3),
             ("upbit", "KRW-ETH", 7), ("bithumb", "KRW-BTC", 1)]
    a = account_trades(SENT, kafka, counters(trade__duplicate=1))
    assert (a.sent, a.delivered, a.duplicates, a.unaccounted, a.ambiguous) == (5, 5, 0, 0, 0)
    assert a.ok and a.dropped == {"duplicate": 1}


def test_a_missing_trade_without_a_counted_drop_is_unaccounted() -> None:
    kafka = [("upbit", "KRW-BTC", 1), ("upbit", "KRW-BTC", 2), ("upbit", "KRW-ETH", 7)]
    a = account_trades(SENT, kafka, counters(trade__expired=1))
    assert (a.sent, a.delivered, a.unaccounted) == (5, 3, 1)
    assert not a.ok


def test_a_copy_drop_does_not_explain_a_missing_trade() -> None:
    kafka = [("upbit", "KRW-BTC", 1), ("upbit", "KRW-BTC", 2), ("upbit", "KRW-BTC", 3), ("upbit", "KRW-ETH", 7)]
    assert account_trades(SENT, kafka, counters(trade__duplicate=1)).unaccounted == 1


def test_publish_failed_yet_in_kafka_is_ambiguous_not_a_duplicate_or_loss() -> None:
    kafka = [("upbit", "KRW-BTC", 1), ("upbit", "KRW-BTC", 2), ("upbit", "KRW-BTC", 3),
             ("upbit", "KRW-ETH", 7)]  # bithumb 1 really lost; 2 failures reported
    a = account_trades(SENT, kafka, counters(trade__publish_failed=2))
    assert (a.delivered, a.ambiguous, a.unaccounted, a.overcounted) == (4, 1, 0, 0)
    assert a.ok


def test_a_drop_counted_for_a_delivered_trade_is_over_counted() -> None:
    kafka = [("upbit", "KRW-BTC", 1), ("upbit", "KRW-BTC", 2), ("upbit", "KRW-BTC", 3),
             ("upbit", "KRW-ETH", 7), ("bithumb", "KRW-BTC", 1)]
    a = account_trades(SENT, kafka, counters(trade__expired=1))
    assert a.overcounted == 1 and not a.ok


def test_duplicates_and_strangers_in_kafka_are_reported() -> None:
    kafka = [("upbit", "KRW-BTC", 1), ("upbit", "KRW-BTC", 1), ("upbit", "KRW-BTC", 2), ("upbit", "KRW-BTC", 3),
             ("upbit", "KRW-ETH", 7), ("bithumb", "KRW-BTC", 1), ("bithumb", "KRW-XRP", 9)]
    a = account_trades(SENT, kafka, counters())
    assert (a.duplicates, a.extra, a.unaccounted) == (1, 1, 0)
    assert not a.ok


def test_unread_trades_only_count_where_the_scenario_allows_them() -> None:
    kafka = [("upbit", "KRW-BTC", 1), ("upbit", "KRW-BTC", 2), ("upbit", "KRW-ETH", 7), ("bithumb", "KRW-BTC", 1)]
    strict = account_trades(SENT, kafka, counters(received=4))
    lenient = account_trades(SENT, kafka, counters(received=4), allow_unread=True)
    assert strict.unaccounted == 1
    assert (lenient.unread, lenient.unaccounted) == (1, 0)


def test_orderbooks_are_accounted_by_count() -> None:
    a = account_orderbooks(SENT, {("upbit", "KRW-BTC"): 2}, counters(orderbook__superseded=1,
                                                                     orderbook__publish_failed=1))
    assert (a.sent, a.delivered, a.unaccounted) == (4, 2, 0)
    b = account_orderbooks(SENT, {("upbit", "KRW-BTC"): 5}, counters(), copies=2)
    assert (b.delivered, b.extra, b.duplicates) == (4, 1, 2)
    assert not b.ok


def test_the_table_names_every_reason() -> None:
    a = account_trades(SENT, [], counters(trade__expired=3, trade__overflow=2))
    text = format_table(table_rows("demo", [a]))
    assert "expired=3, overflow=2" in text and text.splitlines()[0].startswith("scenario")
