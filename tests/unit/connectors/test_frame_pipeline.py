"""Frame -> records: filters and counts (malformed, invalid, ignored, unsubscribed, duplicates, oversized)."""
from __future__ import annotations

from typing import Any

import pytest

from connectors.frame_pipeline import MALFORMED, OVERSIZED, FramePipeline
from exchanges.registry import get_adapter
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


# Real adapters and the real encoder: what issue reports showed reaching Kafka, or breaking a read.
def _upbit_trade(**changes: str) -> bytes:
    fields = {"type": '"trade"', "code": '"KRW-BTC"', "timestamp": "1730336862082", "trade_timestamp": "1730336862047",
              "trade_price": "100473000.00000000", "trade_volume": "0.00014208", "ask_bid": '"BID"',
              "sequential_id": "17303368620470001", "stream_type": '"REALTIME"'}
    fields.update(changes)
    return ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()


def _upbit_book(asks: list[tuple[str, str]], bids: list[tuple[str, str]], total_ask: str = "1.5") -> bytes:
    units = ",".join(f'{{"ask_price":{a[0]},"bid_price":{b[0]},"ask_size":{a[1]},"bid_size":{b[1]}}}'
                     for a, b in zip(asks, bids, strict=True))
    return (f'{{"type":"orderbook","code":"KRW-ETH","timestamp":1790134742106,"total_ask_size":{total_ask},'
            f'"total_bid_size":2.5,"orderbook_units":[{units}]}}').encode()


def test_S1_2_e_invalid_records_are_refused_counted_and_named() -> None:
    p = FramePipeline(get_adapter("upbit"), ["KRW-BTC", "KRW-ETH"])
    bad = [
        _upbit_trade(trade_price="-100473000"), _upbit_trade(trade_volume="-0.5"), _upbit_trade(trade_volume="0"),
        _upbit_book([("101", "1"), ("100", "1")], [("99", "1"), ("98", "1")]),  # descending asks
        _upbit_book([("100", "1")], [("99", "-1")]),  # negative size
        _upbit_book([("100", "1")], [("99", "1")], total_ask="-1.5"),  # negative total
    ]
    for frame in bad:
        assert p.process(frame, 1790134742200000).records == ()
    assert p.counters.invalid == 6 and p.counters.received == 0 and p.counters.malformed == 0
    assert p.counters.dropped == {("trade", "invalid"): 3, ("orderbook", "invalid"): 3}
    lines = p.notices.take()
    assert len(lines) == 1 and "KRW-BTC" in lines[0] and "field='price'" in lines[0] and "-100473000" in lines[0]
    assert p.process(_upbit_trade(), 1790134742200000).records  # a good record still flows
    assert p.counters.received == 1


def test_S1_2_e_refusal_log_lines_are_rate_limited() -> None:
    p = FramePipeline(get_adapter("upbit"), ["KRW-BTC"])
    start = 1790134742200000
    for i in range(100):
        p.process(_upbit_trade(trade_volume="0", sequential_id=str(i + 1)), start + i * 1000)
    assert len(p.notices.take()) == 1
    p.process(_upbit_trade(trade_volume="0"), start + 11_000_000)
    (line,) = p.notices.take()
    assert "99 more invalid" in line and p.counters.invalid == 101


def test_S2_2_f_one_absurd_frame_costs_itself_only() -> None:
    """1e9999999 as a timestamp, 1e-50000000 as a volume and 1,200 nested brackets, between good frames
    of the same read: each is one counted malformed frame, the good ones all come out."""
    p = FramePipeline(get_adapter("upbit"), ["KRW-BTC", "KRW-ETH"])
    nested = b'{"type":"trade","code":' + b"[" * 1200 + b"]" * 1200 + b"}"
    frames = [_upbit_trade(sequential_id="1"), _upbit_trade(timestamp="1e9999999"),
              _upbit_trade(sequential_id="2"), _upbit_trade(trade_volume="1e-50000000"),
              _upbit_trade(trade_volume="1e-999999999"), nested, _upbit_trade(sequential_id="3"),
              b"[" * 100_000 + b"]" * 100_000, _upbit_book([("100", "1")], [("99", "1")])]
    out = [p.process(frame, 1790134742200000) for frame in frames]
    assert [o.kind for o in out] == ["data", MALFORMED, "data", MALFORMED, MALFORMED, MALFORMED, "data",
                                     MALFORMED, "data"]
    assert sum(len(o.records) for o in out) == 4 == p.counters.received
    assert p.counters.malformed == 5 and p.counters.frames == 9
    assert max(len(r.raw_data) for o in out for r in o.records) < 200


def test_S2_2_f_an_unexpected_exception_is_a_counted_malformed_frame() -> None:
    class Exploding(FakeAdapter):
        def decode(self, frame: bytes | str, received_time_us: int) -> Any:
            if frame == b"boom":
                raise RecursionError("maximum recursion depth exceeded")
            return super().decode(frame, received_time_us)

    p = FramePipeline(Exploding(), ["KRW-BTC"], encode)
    assert p.process(b"boom", 1).kind == MALFORMED
    assert p.process(trade("KRW-BTC", 1), 2).records
    assert (p.counters.malformed, p.counters.received, p.counters.frames) == (1, 1, 2)


def test_S2_2_f_an_oversized_message_is_counted() -> None:
    p = pipeline()
    assert p.unframeable(OVERSIZED, "message of 5000000 bytes or more exceeds max_frame_bytes (4194304)", 1).kind \
        == MALFORMED
    assert p.counters.malformed == 1 and p.counters.frames == 1
    assert p.counters.dropped == {("other", "oversized"): 1}
