"""The status snapshot (seed S3.1-j) and the graceful stop sequence (S3.1-b/c/d)."""
from __future__ import annotations

import pytest

from domain.state import ConnectionState as S
from messages import BufferStats, ConnectorStats, PublishReport, StateChanged
from supervision.status_book import StatusBook
from supervision.stop_sequence import StopSequence

pytestmark = pytest.mark.unit


def stats(received: int, conn: str = "upbit-0", last: dict[str, int] | None = None) -> ConnectorStats:
    return ConnectorStats(conn, "upbit", ("KRW-BTC", "KRW-ETH"), received, 1, 2, 0, 0, 3, last or {})


def test_S3_1_j_status_reports_states_counts_buffer_and_producers() -> None:
    book = StatusBook(started_us=1)
    book.expect_connection("upbit-0", "upbit", ("KRW-BTC", "KRW-ETH"), 0)
    book.expect_producer("trade")
    book.on_state(StateChanged("upbit-0", "upbit", S.DISCONNECTED, S.CONNECTING, "start", 10))
    book.on_state(StateChanged("upbit-0", "upbit", S.CONNECTING, S.CONNECTED, "subscribed", 20))
    assert book.on_connector_stats(stats(150, last={"KRW-BTC": 900, "KRW-ETH": 950})) == 150
    assert book.on_connector_stats(stats(200, last={"KRW-BTC": 1000})) == 50
    book.on_buffer_stats(BufferStats({"trade": 4, "orderbook": 0}, {"expired:orderbook": 7}))
    book.on_publish_report(PublishReport("trade", 180, 2, 0, "timeout"))
    snap = book.snapshot(now_us=2000, running=True)
    conn = snap.connections["upbit-0"]
    assert (conn["state"], conn["received"], conn["malformed"], conn["reconnects"]) == ("CONNECTED", 200, 1, 3)
    assert conn["last_message_us"] == 1000 and conn["since_us"] == 20
    assert snap.markets == {"upbit:KRW-BTC": 1000, "upbit:KRW-ETH": 950}
    assert snap.buffer == {"depth": {"trade": 4, "orderbook": 0}, "dropped": {"expired:orderbook": 7}}
    assert snap.producers["trade"] == {"succeeded": 180, "failed": 2, "consecutive_failures": 0,
                                       "last_error": "timeout", "cause": "", "failing_for_s": 0.0}
    assert (snap.total_received, snap.total_published, snap.running) == (200, 180, True)


def test_counters_survive_a_restarted_child() -> None:
    book = StatusBook(0)
    book.on_connector_stats(stats(500))
    book.child_exited("upbit-0", 5)
    assert book.connections["upbit-0"]["state"] == "DISCONNECTED"
    assert book.on_connector_stats(stats(30)) == 30  # the new incarnation counts from zero
    assert book.total_received() == 530
    book.on_publish_report(PublishReport("trade", 100, 0, 0))
    book.on_publish_report(PublishReport("trade", 10, 0, 0))
    assert book.total_published() == 110


def test_stop_runs_connectors_then_drain_then_flush() -> None:
    seq = StopSequence({"upbit-0", "upbit-1"}, {"producer-trade"}, deadline_s=8, now_s=0)
    assert seq.begin() == []
    assert seq.connector_stopped("upbit-0", "CONNECTED") == []
    assert seq.connector_stopped("upbit-0", "DISCONNECTED") == []
    assert seq.connector_stopped("upbit-1", "FAILED") == ["drain"]
    assert seq.drained(0) == ["flush"]
    assert seq.producer_flushed("producer-trade", 0) == ["done"]
    assert seq.done and seq.outcome == "completed" and seq.left_in_buffer == 0


def test_stop_moves_on_when_connectors_do_not_answer_and_ends_at_the_deadline() -> None:
    seq = StopSequence({"upbit-0"}, {"producer-trade"}, deadline_s=4, now_s=0, connector_grace_s=1)
    assert seq.tick(0.5) == [] and seq.tick(1.0) == ["drain"]
    assert seq.tick(3.9) == []
    assert seq.tick(4.0) == ["done"] and "deadline" in seq.outcome and "drain" in seq.outcome
    assert seq.tick(5.0) == []


def test_S3_1_d_stop_is_idempotent_every_caller_gets_the_answer_once() -> None:
    seq = StopSequence(set(), set(), deadline_s=8, now_s=0)
    seq.add_waiter("main")
    assert seq.begin() == ["drain"]
    assert seq.add_waiter("second") == []
    assert seq.drained(0) == ["flush", "done"]
    assert seq.take_waiters() == ["main", "second"]
    assert seq.add_waiter("late") == ["done"] and seq.take_waiters() == ["late"]
    assert seq.drained(5) == [] and seq.left_in_buffer == 0


def test_a_producer_that_exits_during_the_stop_counts_as_flushed() -> None:
    seq = StopSequence(set(), {"producer-trade", "producer-orderbook"}, deadline_s=8, now_s=0)
    seq.begin()
    seq.drained(0)
    assert seq.child_gone("producer-trade") == []
    assert seq.producer_flushed("producer-orderbook", 0) == ["done"]


def test_records_arriving_after_the_drain_are_drained_again_before_the_end() -> None:
    late = {"arrived": True}
    seq = StopSequence(set(), {"producer-trade"}, deadline_s=8, now_s=0,
                       balanced=lambda: not late["arrived"])
    assert seq.begin() == ["drain"]
    assert seq.drained(0) == ["flush"]
    assert seq.producer_flushed("producer-trade", 0) == []  # not balanced: settle instead of ending
    assert seq.tick(0.1) == []
    assert seq.tick(0.35) == ["drain"] and seq.redrains == 1
    assert seq.drained(0) == ["flush"]
    late["arrived"] = False
    assert seq.producer_flushed("producer-trade", 0) == ["done"] and seq.outcome == "completed"


def test_accounting_balances_published_dropped_and_failed_against_forwarded() -> None:
    book = StatusBook(0)
    book.on_connector_stats(ConnectorStats("upbit-0", "upbit", (), 100, 0, 5, 5, 0, 0, {}))
    book.on_publish_report(PublishReport("trade", 80, 5, 0))
    assert not book.accounted()
    book.on_buffer_stats(BufferStats({}, {"expired:orderbook": 5}))
    assert book.accounted()


def test_a_connector_later_than_the_grace_does_not_hold_the_drain_but_holds_the_end() -> None:
    seq = StopSequence({"upbit-0"}, {"producer-trade"}, deadline_s=8, now_s=0, connector_grace_s=1)
    assert seq.tick(1.0) == ["drain"]
    assert seq.drained(0) == ["flush"]
    assert seq.producer_flushed("producer-trade", 0) == []  # its final counts are not in yet
    assert seq.tick(1.1) == [] and not seq.done
    assert seq.connector_stopped("upbit-0", "DISCONNECTED") == []
    assert seq.tick(1.2) == ["done"] and seq.outcome == "completed"


def test_a_connector_that_never_reports_ends_the_stop_at_the_deadline() -> None:
    seq = StopSequence({"upbit-0"}, {"producer-trade"}, deadline_s=4, now_s=0, connector_grace_s=1)
    seq.tick(1.0)
    seq.drained(0)
    seq.producer_flushed("producer-trade", 0)
    assert seq.tick(3.0) == []
    assert seq.tick(3.3) == ["drain"]  # still unsettled: what came late is drained again
    seq.drained(0)
    seq.producer_flushed("producer-trade", 0)
    assert seq.tick(4.0) == ["done"] and "deadline" in seq.outcome
