"""Batched metric updates write exactly what per-observation updates would."""
from __future__ import annotations

import math
import random
import threading

from prometheus_client import CollectorRegistry, Counter, Histogram

from monitoring.metric_batch import CounterBatch, HistogramBatch

BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 1.0)


def _samples(registry: CollectorRegistry, name: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for metric in registry.collect() if metric.name == name for s in metric.samples
            if not s.name.endswith("_created")}


def test_histogram_batch_equals_observe_bucket_for_bucket() -> None:
    direct_registry, batched_registry = CollectorRegistry(), CollectorRegistry()
    direct = Histogram("lat", "l", ["t"], buckets=BUCKETS, registry=direct_registry).labels("trade")
    batched_child = Histogram("lat", "l", ["t"], buckets=BUCKETS, registry=batched_registry).labels("trade")
    batch = HistogramBatch(batched_child)
    rng = random.Random(7)
    # values on the bounds themselves go to that bound's bucket (le is inclusive), past the last to +Inf
    values = [*BUCKETS, 0.0, 2.5, 1e9] + [rng.expovariate(40) for _ in range(500)]
    for value in values[:250]:
        direct.observe(value)
        batch.observe(value)
    batch.sync()
    for value in values[250:]:
        direct.observe(value)
    batch.observe_many(values[250:])
    assert _samples(batched_registry, "lat") != _samples(direct_registry, "lat")  # not synced yet
    batch.sync()
    batch.sync()  # nothing gathered: writes nothing
    got, want = _samples(batched_registry, "lat"), _samples(direct_registry, "lat")
    total = ("lat_sum", (("t", "trade"),))
    # counts are exact; the sum is a float sum in another order, equal to rounding
    assert math.isclose(got.pop(total), want.pop(total), rel_tol=1e-12)
    assert got == want and got[("lat_count", (("t", "trade"),))] == len(values)


def test_counter_batch_adds_its_increments_once_per_sync() -> None:
    registry = CollectorRegistry()
    child = Counter("published", "p", ["exchange"], registry=registry).labels("upbit")
    batch = CounterBatch(child)
    for _ in range(10):
        batch.inc()
    batch.inc(5)
    assert _samples(registry, "published")[("published_total", (("exchange", "upbit"),))] == 0
    batch.sync()
    batch.sync()
    assert _samples(registry, "published")[("published_total", (("exchange", "upbit"),))] == 15


def test_observations_from_another_thread_while_syncing_are_all_kept() -> None:
    registry = CollectorRegistry()
    histogram = Histogram("lat", "l", buckets=BUCKETS, registry=registry)
    batch = HistogramBatch(histogram)
    done = threading.Event()

    def callbacks() -> None:
        for _ in range(20_000):
            batch.observe(0.003)
        done.set()

    worker = threading.Thread(target=callbacks)
    worker.start()
    while not done.is_set():
        batch.sync()
    worker.join()
    batch.sync()
    assert _samples(registry, "lat")[("lat_count", ())] == 20_000
