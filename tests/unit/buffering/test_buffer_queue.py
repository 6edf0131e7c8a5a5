"""The buffer queue's rules: TTL, priority, FIFO per code, capacity policy, drop counting."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from buffering.buffer_queue import BufferQueue, ttl_for_delivery
from domain.market_data import MarketDataMessage
from domain.settings import KafkaSettings
from publishers.kafka_config import delivery

pytestmark = pytest.mark.unit

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in µs
SECOND = 1_000_000


def rec(
    data_type: str = "trade", code: str = "KRW-BTC", t: int = T0, seq: int = 0, exchange: str = "upbit"
) -> MarketDataMessage:
    return MarketDataMessage(exchange, data_type, code, f"{code}:{seq}".encode(), t, seq)


def book(code: str = "KRW-BTC", t: int = T0, n: int = 0, exchange: str = "upbit") -> MarketDataMessage:
    # orderbooks carry no sequential id; the bytes name them for the assertions
    return MarketDataMessage(exchange, "orderbook", code, f"{code}:book{n}".encode(), t, 0)


def test_S2_6_a_record_older_than_ttl_when_its_turn_comes_is_dropped_as_expired() -> None:
    q = BufferQueue(10, {"trade": 1.0, "orderbook": 1.0})
    q.enqueue(rec(t=T0, seq=1), T0)
    q.enqueue(rec(t=T0 + SECOND // 2, seq=2), T0)
    out = q.dequeue_batch(10, now_us=T0 + SECOND + 1, data_type="trade")
    assert [r.sequential_id for r in out] == [2]
    assert q.dropped == {("expired", "trade"): 1}
    assert q.dropped_by_exchange == {("upbit", "trade", "expired"): 1}


def test_S2_6_a_record_exactly_at_ttl_is_still_fresh() -> None:
    q = BufferQueue(10, {"trade": 1.0})
    q.enqueue(rec(seq=1), T0)
    assert len(q.dequeue_batch(10, now_us=T0 + SECOND, data_type="trade")) == 1


def test_S2_6_a_ttl_is_per_data_type() -> None:
    q = BufferQueue(10, {"trade": 5.0, "orderbook": 0.2})
    q.enqueue(book(), T0)
    q.enqueue(rec(seq=1), T0)
    out = q.dequeue_batch(10, now_us=T0 + SECOND)
    assert [r.data_type for r in out] == ["trade"]
    assert q.dropped == {("expired", "orderbook"): 1}


def test_S2_6_a_expire_drops_stale_heads_without_a_pull() -> None:
    q = BufferQueue(10, {"trade": 1.0, "orderbook": 1.0})
    q.enqueue_many([rec(t=T0, seq=1), rec(t=T0 + 2 * SECOND, seq=2), book(t=T0)], T0)
    assert q.expire(T0 + 2 * SECOND) == 2
    assert q.depth() == {"orderbook": 0, "trade": 1}
    assert q.dropped == {("expired", "trade"): 1, ("expired", "orderbook"): 1}


def test_S2_6_g_ttl_uses_utc_epoch_microseconds() -> None:
    received = int(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp() * SECOND)
    now = int(datetime(2026, 3, 1, 12, 0, 1, 500_000, tzinfo=UTC).timestamp() * SECOND)
    q = BufferQueue(10, {"trade": 1.0})
    q.enqueue(rec(t=received, seq=1), received)
    assert q.ttl_us("trade") == SECOND
    assert q.dequeue_batch(1, now_us=now) == []
    assert q.dropped[("expired", "trade")] == 1


def test_S2_6_b_orderbooks_are_served_before_trades() -> None:
    q = BufferQueue(10)
    q.enqueue(rec(seq=1), T0)
    q.enqueue(book(n=1), T0)
    q.enqueue(rec(seq=2), T0)
    q.enqueue(book(n=2), T0)
    out = q.dequeue_batch(10, now_us=T0)
    assert [r.data_type for r in out] == ["orderbook", "orderbook", "trade", "trade"]


def test_fifo_within_one_code_across_interleaved_codes() -> None:
    q = BufferQueue(1000)
    codes = ["KRW-BTC", "KRW-ETH", "KRW-XRP"]
    for i in range(300):
        q.enqueue(rec(code=codes[i % 3], seq=i + 1), T0)
    out = q.dequeue_batch(1000, now_us=T0, data_type="trade")
    for code in codes:
        seqs = [r.sequential_id for r in out if r.code == code]
        assert seqs == sorted(seqs) and len(seqs) == 100


def test_S2_6_e_dequeue_batch_100_returns_at_most_100() -> None:
    q = BufferQueue(1000)
    q.enqueue_many([rec(seq=i + 1) for i in range(250)], T0)
    sizes = [len(q.dequeue_batch(100, now_us=T0)) for _ in range(4)]
    assert sizes == [100, 100, 50, 0]


def test_S2_6_c_full_queue_supersedes_oldest_book_of_same_code() -> None:
    q = BufferQueue(3)
    q.enqueue_many([book("KRW-BTC", n=1), book("KRW-ETH", n=1), book("KRW-BTC", n=2)], T0)
    assert q.enqueue(book("KRW-BTC", n=3), T0)
    out = q.dequeue_batch(10, now_us=T0)
    assert [r.raw_data for r in out] == [b"KRW-ETH:book1", b"KRW-BTC:book2", b"KRW-BTC:book3"]
    assert q.dropped == {("superseded", "orderbook"): 1}


def test_S2_6_c_same_code_on_another_exchange_is_not_superseded() -> None:
    q = BufferQueue(2)
    q.enqueue_many([book("KRW-ETH", n=1), book("KRW-BTC", n=1, exchange="bithumb")], T0)
    q.enqueue(book("KRW-BTC", n=2, exchange="upbit"), T0)
    out = q.dequeue_batch(10, now_us=T0)
    assert [(r.exchange, r.raw_data) for r in out] == [
        ("bithumb", b"KRW-BTC:book1"), ("upbit", b"KRW-BTC:book2"),
    ]
    assert q.dropped == {("overflow", "orderbook"): 1}
    assert q.dropped_by_exchange == {("upbit", "orderbook", "overflow"): 1}


def test_S2_6_b_S2_6_c_a_trade_arriving_at_a_full_queue_drops_the_oldest_trade_not_a_book() -> None:
    q = BufferQueue(3)
    q.enqueue_many([rec(seq=1), book("KRW-ETH", n=1), book("KRW-XRP", n=1)], T0)
    assert q.enqueue(rec(seq=2), T0)
    out = q.dequeue_batch(10, now_us=T0)
    assert [r.raw_data for r in out] == [b"KRW-ETH:book1", b"KRW-XRP:book1", b"KRW-BTC:2"]
    assert q.dropped == {("overflow", "trade"): 1}


def test_S2_6_c_trades_at_a_queue_of_trades_drop_the_oldest_trade_first() -> None:
    q = BufferQueue(2)
    q.enqueue_many([rec(seq=1), rec(seq=2)], T0)
    assert q.enqueue(rec(seq=3), T0)
    assert [r.sequential_id for r in q.dequeue_batch(10, now_us=T0)] == [2, 3]
    assert q.dropped == {("overflow", "trade"): 1}


def test_S2_6_b_S2_6_c_book_arriving_at_queue_full_of_trades_takes_the_oldest_trade_s_place() -> None:
    q = BufferQueue(2)
    q.enqueue_many([rec(seq=1), rec(seq=2)], T0)
    assert q.enqueue(book(), T0)
    assert [r.raw_data for r in q.dequeue_batch(10, now_us=T0)] == [b"KRW-BTC:book0", b"KRW-BTC:2"]
    assert q.dropped == {("overflow", "trade"): 1}
    assert q.dropped_by_exchange == {("upbit", "trade", "overflow"): 1}


def test_S2_6_c_a_trade_takes_the_place_of_a_book_a_newer_one_replaces_before_any_trade() -> None:
    q = BufferQueue(4)
    q.enqueue_many([book("KRW-BTC", n=1), rec(seq=1), book("KRW-ETH", n=1), book("KRW-BTC", n=2)], T0)
    assert q.enqueue(rec(seq=2), T0)  # KRW-BTC book1 is superseded by book2: nothing is lost
    out = q.dequeue_batch(10, now_us=T0)
    assert [r.raw_data for r in out] == [b"KRW-ETH:book1", b"KRW-BTC:book2", b"KRW-BTC:1", b"KRW-BTC:2"]
    assert q.dropped == {("superseded", "orderbook"): 1}
    # the oldest book is the only one of its code: the oldest trade goes, not the book
    assert q.enqueue_many([book("KRW-XRP"), book("KRW-ADA"), rec(seq=3), rec(seq=4), rec(seq=5)], T0) == 5
    assert [r.raw_data for r in q.dequeue_batch(10, now_us=T0)] == [
        b"KRW-XRP:book0", b"KRW-ADA:book0", b"KRW-BTC:4", b"KRW-BTC:5"]
    assert q.dropped == {("superseded", "orderbook"): 1, ("overflow", "trade"): 1}


def test_S2_6_b_S2_6_c_a_trade_arriving_at_a_queue_of_distinct_books_is_itself_dropped() -> None:
    q = BufferQueue(2)
    q.enqueue_many([book("KRW-BTC"), book("KRW-ETH")], T0)
    assert not q.enqueue(rec(seq=1), T0)
    assert [r.raw_data for r in q.dequeue_batch(10, now_us=T0)] == [b"KRW-BTC:book0", b"KRW-ETH:book0"]
    assert q.dropped == {("overflow", "trade"): 1}


def test_under_at_least_once_a_full_queue_gives_up_books_before_trades() -> None:
    q = BufferQueue(3, keep_at_capacity="trade")
    q.enqueue_many([book("KRW-BTC"), rec(seq=1), book("KRW-ETH")], T0)
    assert q.enqueue(rec(seq=2), T0)  # the oldest book goes, not a trade
    assert q.enqueue(book("KRW-XRP"), T0)  # so does the next oldest for an arriving book
    assert [r.raw_data for r in q.dequeue_batch(10, now_us=T0)] == [b"KRW-XRP:book0", b"KRW-BTC:1", b"KRW-BTC:2"]
    assert q.dropped == {("overflow", "orderbook"): 2}
    q.enqueue_many([rec(seq=3), rec(seq=4), rec(seq=5)], T0)
    assert not q.enqueue(book("KRW-ADA"), T0)  # only trades queued: the arriving book is dropped
    assert q.enqueue(rec(seq=6), T0)  # and a trade replaces the oldest trade
    assert [r.sequential_id for r in q.dequeue_batch(10, now_us=T0)] == [4, 5, 6]
    assert q.dropped == {("overflow", "orderbook"): 3, ("overflow", "trade"): 1}
    with pytest.raises(ValueError, match="keep_at_capacity"):
        BufferQueue(3, keep_at_capacity="ticker")


def test_S2_6_c_full_queue_expires_stale_records_before_dropping_fresh_ones() -> None:
    q = BufferQueue(2, {"trade": 1.0})
    q.enqueue_many([rec(t=T0, seq=1), rec(t=T0 + 2 * SECOND, seq=2)], T0)
    assert q.enqueue(rec(t=T0 + 2 * SECOND, seq=3), T0 + 2 * SECOND)
    assert [r.sequential_id for r in q.dequeue_batch(10, now_us=T0 + 2 * SECOND)] == [2, 3]
    assert q.dropped == {("expired", "trade"): 1}


def test_S2_6_c_capacity_is_never_exceeded_and_every_record_is_accounted_for() -> None:
    q = BufferQueue(50)
    sent = 0
    for i in range(1000):
        q.enqueue(book(f"KRW-C{i % 7}", n=i) if i % 3 else rec(code=f"KRW-C{i % 5}", seq=i + 1), T0)
        sent += 1
        assert len(q) <= 50
    assert sum(q.depth().values()) == len(q) == 50
    assert q.total_dropped() + len(q) == sent
    assert sum(len(q.dequeue_batch(7, now_us=T0)) for _ in range(20)) == 50


def test_superseding_many_times_keeps_memory_bounded() -> None:
    q = BufferQueue(10)
    for n in range(10_000):
        q.enqueue(book("KRW-BTC", n=n), T0)
    assert len(q) == 10
    assert len(q._lines["orderbook"]) <= 2 * 10 + 64  # tombstones compacted
    assert q.dropped == {("superseded", "orderbook"): 9990}
    assert [r.raw_data for r in q.dequeue_batch(1, now_us=T0)] == [b"KRW-BTC:book9990"]


def test_duplicate_trade_is_dropped_and_counted() -> None:
    q = BufferQueue(10)
    assert q.enqueue(rec(seq=7), T0)
    assert not q.enqueue(rec(seq=7), T0)
    assert q.enqueue(rec(seq=7, code="KRW-ETH"), T0)
    assert q.enqueue(rec(seq=0), T0) and q.enqueue(rec(seq=0), T0)  # no id: never deduplicated
    assert q.dropped == {("duplicate", "trade"): 1}
    assert len(q) == 4


def test_unknown_data_type_is_dropped_as_invalid() -> None:
    q = BufferQueue(10)
    assert not q.enqueue(rec(data_type="ticker"), T0)
    assert q.dropped == {("invalid", "ticker"): 1}


def test_drain_ignores_ttl() -> None:
    q = BufferQueue(10, {"trade": 1.0})
    q.enqueue(rec(seq=1), T0)
    out = q.dequeue_batch(10, now_us=T0 + 60 * SECOND, ignore_ttl=True)
    assert len(out) == 1 and q.total_dropped() == 0


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        BufferQueue(0)


def test_S2_6_a_at_most_once_keeps_the_configured_ttl() -> None:
    assert delivery(KafkaSettings()).retries_for_s is None  # retries=0: the client never resends
    assert ttl_for_delivery({"trade": 1.0, "orderbook": 0.5}, None) == {"orderbook": 0.5, "trade": 1.0}
    assert ttl_for_delivery({}, None) == {"orderbook": 1.0, "trade": 1.0}


def test_at_least_once_keeps_a_trade_as_long_as_the_client_would_retry_it() -> None:
    retries_for_s = delivery(KafkaSettings(delivery="at_least_once")).retries_for_s
    assert retries_for_s == 300.0  # the at-least-once delivery timeout
    ttl = ttl_for_delivery({"trade": 1.0, "orderbook": 1.0}, retries_for_s)
    assert ttl == {"orderbook": 1.0, "trade": 300.0}  # books stay fresh: the next one replaces them
    assert ttl_for_delivery({"trade": 600.0}, retries_for_s)["trade"] == 600.0  # never shortened
    # a longer configured delivery timeout is followed too
    longer = delivery(KafkaSettings(delivery="at_least_once", delivery_timeout_ms=900_000)).retries_for_s
    assert ttl_for_delivery({}, longer)["trade"] == 900.0


def test_at_least_once_trade_waiting_past_the_configured_ttl_is_kept_and_capacity_still_bounds() -> None:
    q = BufferQueue(3, ttl_for_delivery({"trade": 1.0, "orderbook": 1.0}, 300.0))
    q.enqueue_many([rec(seq=1), rec(seq=2), book("KRW-ETH")], T0)
    later = T0 + 200 * SECOND  # a broker restart later: the client would still deliver these trades
    assert q.expire(later) == 1 and q.dropped == {("expired", "orderbook"): 1}
    q.enqueue_many([rec(seq=3, t=later), rec(seq=4, t=later)], later)  # the third trade fills the queue
    assert len(q) == 3 and q.dropped == {("expired", "orderbook"): 1, ("overflow", "trade"): 1}
    assert [r.sequential_id for r in q.dequeue_batch(10, now_us=later)] == [2, 3, 4]
    assert q.dequeue_batch(10, now_us=T0 + 301 * SECOND) == []
