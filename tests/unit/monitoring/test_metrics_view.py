"""The dashboard's latency quantiles and drop reasons, from constructed metric families."""
from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from web.metrics_view import bucket_delta, quantile, read

pytestmark = pytest.mark.unit


def test_quantile_interpolates_like_histogram_quantile() -> None:
    buckets = {0.01: 50.0, 0.1: 100.0, float("inf"): 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.01)
    assert quantile(0.75, buckets) == pytest.approx(0.055)
    assert quantile(0.5, {0.01: 0.0, float("inf"): 0.0}) is None
    assert quantile(0.99, {0.01: 0.0, 0.1: 0.0, float("inf"): 10.0}) == pytest.approx(0.1)


def test_bucket_delta_keeps_only_the_window() -> None:
    assert bucket_delta({0.1: 15.0, float("inf"): 20.0}, {0.1: 10.0, float("inf"): 10.0}) == {
        0.1: 5.0, float("inf"): 10.0}


def test_read_sums_series_by_market_reason_and_bucket() -> None:
    registry = CollectorRegistry()
    market = Counter("ingestion_market_messages_received", "m", ["exchange", "market"], registry=registry)
    dropped = Counter("ingestion_messages_dropped", "d", ["exchange", "data_type", "reason"], registry=registry)
    latency = Histogram("ingestion_kafka_publish_latency_seconds", "l", ["data_type"], buckets=(0.01, 0.1),
                        registry=registry)
    market.labels("upbit", "KRW-BTC").inc(5)
    dropped.labels("upbit", "trade", "ttl_expired").inc(2)
    dropped.labels("bithumb", "orderbook", "ttl_expired").inc(3)
    latency.labels("trade").observe(0.005)
    latency.labels("orderbook").observe(0.05)
    reading = read(registry.collect())
    assert reading.market_counts == {"upbit:KRW-BTC": 5.0}
    assert reading.dropped_by_reason == {"ttl_expired": 5.0}
    assert reading.publish_latency_buckets == {0.01: 1.0, 0.1: 2.0, float("inf"): 2.0}
