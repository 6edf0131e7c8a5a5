"""Reads the few metric values the dashboard shows that a status snapshot does not carry:
per-market counts, dropped records by reason and the Kafka publish latency histogram."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.metrics_core import Metric


@dataclass(frozen=True, slots=True)
class MetricsReading:
    market_counts: dict[str, float] = field(default_factory=dict)  # "exchange:market" -> total
    dropped_by_reason: dict[str, float] = field(default_factory=dict)
    publish_latency_buckets: dict[float, float] = field(default_factory=dict)  # le -> cumulative count


def read(families: Iterable[Metric]) -> MetricsReading:
    markets: dict[str, float] = defaultdict(float)
    dropped: dict[str, float] = defaultdict(float)
    buckets: dict[float, float] = defaultdict(float)
    for family in families:
        for sample in family.samples:
            if sample.name == "ingestion_market_messages_received_total":
                markets[f"{sample.labels.get('exchange', '')}:{sample.labels.get('market', '')}"] += sample.value
            elif sample.name == "ingestion_messages_dropped_total":
                dropped[sample.labels.get("reason", "unknown")] += sample.value
            elif sample.name == "ingestion_kafka_publish_latency_seconds_bucket":
                buckets[float(sample.labels["le"])] += sample.value
    return MetricsReading(dict(markets), dict(dropped), dict(buckets))


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """``histogram_quantile`` over cumulative bucket counts (linear inside a bucket, like PromQL)."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower_bound  # beyond the largest finite bucket: report its bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def bucket_delta(new: dict[float, float], old: dict[float, float]) -> dict[float, float]:
    return {le: max(0.0, count - old.get(le, 0.0)) for le, count in new.items()}
