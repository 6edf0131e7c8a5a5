"""Frame -> records: filters and counts (malformed, ignored, unsubscribed, duplicates)."""
from __future__ import annotations

import pytest

from connectors.frame_pipeline import MALFORMED, FramePipeline
from tests.unit.connectors.fakes import FakeAdapter, book, encode, trade

pytestmark = pytest.mark.unit


def pipeline() -> FramePipeline:
    return FramePipeline(FakeAdapter(), ["krw-btc", "KRW-ETH"], encode)


def test_records_of_subscribed_codes_pass_and_are_encoded() -> None:
    p = pipeline()
    out = p.process(trade("KRW-BTC", 5), 123)
    assert out.kind == "data"
    assert [(r.code, r.sequential_id, r.received_time_us) for r in out.records] == [("KRW-BTC", 5, 123)]
    assert p.counters.received == 1
    assert p.counters.received_by_type == {"trade": 1}
    assert p.counters.last_message_us == {"KRW-BTC": 123}


def test_S3_2_c_unsubscribed_codes_are_filtered_and_counted() -> None:
    p = pipeline()
    assert p.process(trade("KRW-XRP", 1), 1).records == ()
    assert p.process(book("KRW-DOGE"), 1).records == ()
    assert p.counters.unsubscribed == 2
    assert p.counters.dropped == {("trade", "unsubscribed"): 1, ("orderbook", "unsubscribed"): 1}
    assert p.counters.received == 0


def test_S2_2_f_malformed_frame_is_counted_not_raised() -> None:
    p = pipeline()
    out = p.process(b"{not json", 1)
    assert out.kind == MALFORMED and out.records == ()
    assert "not JSON" in out.detail
    assert p.counters.malformed == 1
    assert p.process(trade("KRW-ETH", 2), 2).records  # the next good frame still flows


def test_duplicate_trades_are_dropped_and_counted() -> None:
    p = pipeline()
    p.process(trade("KRW-BTC", 9), 1)
    assert p.process(trade("KRW-BTC", 9), 2).records == ()
    assert p.counters.duplicates == 1
    assert p.counters.dropped == {("trade", "duplicate"): 1}
    assert p.counters.received == 1


def test_orderbooks_are_never_deduplicated() -> None:
    p = pipeline()
    assert p.process(book("KRW-BTC"), 1).records
    assert p.process(book("KRW-BTC"), 2).records
    assert p.counters.received_by_type == {"orderbook": 2}


def test_ignored_status_and_error_frames() -> None:
    p = pipeline()
    assert p.process(b'{"type": "ticker"}', 1).kind == "ignored"
    assert p.process(b'{"status": "UP"}', 1).kind == "status"
    err = p.process(b'{"error": {"name": "NO_TICKET", "message": "ticket missing"}}', 1)
    assert err.kind == "error" and "NO_TICKET" in err.detail
    c = p.counters
    assert (c.ignored_types, c.status_frames, c.error_frames, c.frames) == (1, 1, 1, 3)
    assert c.dropped == {("other", "ignored_type"): 1}


def test_S2_2_c_binary_and_text_frames_both_reach_the_adapter() -> None:
    p = pipeline()
    assert p.process(trade("KRW-BTC", 1), 1).records
    assert p.process(trade("KRW-BTC", 2).decode(), 1).records
