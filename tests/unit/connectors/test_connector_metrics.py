"""Per-market record counts reach ``ingestion_market_messages_received_total`` (the dashboard's rates)."""
from __future__ import annotations

import pytest

from connectors.connector_metrics import ConnectorMetrics
from connectors.frame_pipeline import FramePipeline
from monitoring.metrics import MARKET_MESSAGES, MESSAGES_RECEIVED
from tests.unit.connectors.fakes import FakeAdapter, book, encode, trade

pytestmark = pytest.mark.unit


def market_count(exchange: str, code: str) -> float:
    return float(MARKET_MESSAGES.labels(exchange, code)._value.get())


def test_records_admitted_by_the_pipeline_are_counted_per_market() -> None:
    pipeline = FramePipeline(FakeAdapter(), ["KRW-BTC", "KRW-ETH"], encode)
    metrics = ConnectorMetrics("per-market-0", "unit-per-market")
    metrics.sync(pipeline.counters, 0)  # the connection's first state change, before any frame
    for seq in range(5):
        pipeline.process(trade("KRW-BTC", seq), 10 + seq)
    pipeline.process(trade("KRW-BTC", 4), 20)  # duplicate: dropped, not counted
    pipeline.process(book("KRW-ETH"), 21)
    pipeline.process(trade("KRW-XRP", 1), 22)  # not subscribed: dropped, no label
    metrics.sync(pipeline.counters, 0)
    assert market_count("unit-per-market", "KRW-BTC") == 5
    assert market_count("unit-per-market", "KRW-ETH") == 1
    assert pipeline.counters.last_message_us == {"KRW-BTC": 14, "KRW-ETH": 21}

    pipeline.process(book("KRW-ETH"), 30)
    metrics.sync(pipeline.counters, 0)
    metrics.sync(pipeline.counters, 0)  # a sync without new records adds nothing
    assert market_count("unit-per-market", "KRW-ETH") == 2
    assert market_count("unit-per-market", "KRW-BTC") == 5
    by_type = MESSAGES_RECEIVED.labels("unit-per-market", "trade")._value.get()
    assert by_type == 5  # per-market totals agree with the per-type counter


def test_market_labels_never_include_unsubscribed_codes() -> None:
    pipeline = FramePipeline(FakeAdapter(), ["KRW-BTC"], encode)
    metrics = ConnectorMetrics("per-market-1", "unit-unsubscribed")
    metrics.sync(pipeline.counters, 0)
    pipeline.process(trade("KRW-DOGE", 1), 1)
    metrics.sync(pipeline.counters, 0)
    labels = {s.labels.get("market") for f in MARKET_MESSAGES.collect() for s in f.samples
              if s.labels.get("exchange") == "unit-unsubscribed"}
    assert labels == set()
