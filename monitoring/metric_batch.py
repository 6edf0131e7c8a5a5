"""Metric updates gathered in the process and written to Prometheus in one step.

In multiprocess mode every ``inc`` or ``observe`` of prometheus-client writes a memory-mapped
file under a lock and checks the process id first (one ``getpid`` system call per value written).
A histogram observation writes two values (its sum and one bucket), so a publisher that observed
two latencies and counted one success per record paid five such writes per record, about as much
as handing the record to librdkafka. Here observations only touch a list; ``sync()`` adds the
gathered counts to the real metric, a few writes per interval whatever the rate.

The sums are exact: a batch adds to each bucket the number of observations that ``observe()``
would have put there (same bucket rule: the first bound the value does not exceed), and to the
sum their total. The batches are thread-safe, since a client's delivery callbacks may run on its
own thread while the actor syncs.
"""
from __future__ import annotations

import threading
from bisect import bisect_left
from typing import Any


class HistogramBatch:
    """Observations for one labelled child of a ``prometheus_client.Histogram``.

    It reads the child's bucket bounds and writes its bucket and sum values, which the
    pinned prometheus-client (0.26) keeps as ``_upper_bounds``, ``_buckets`` and ``_sum``;
    ``tests/unit/monitoring/test_metric_batch.py`` proves the result equals ``observe()``'s."""

    __slots__ = ("_child", "_bounds", "_counts", "_sum", "_lock")

    def __init__(self, child: Any) -> None:
        self._child = child
        self._bounds: list[float] = list(child._upper_bounds)
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        index = bisect_left(self._bounds, value)  # the first bound >= value; the last bound is +Inf
        with self._lock:
            self._counts[index] += 1
            self._sum += value

    def observe_many(self, values: list[float]) -> None:
        bounds = self._bounds
        with self._lock:
            counts = self._counts
            for value in values:
                counts[bisect_left(bounds, value)] += 1
            self._sum += sum(values)

    def sync(self) -> None:
        with self._lock:
            counts, total = self._counts, self._sum
            if not any(counts):
                return
            self._counts, self._sum = [0] * len(counts), 0.0
        buckets = self._child._buckets
        for index, count in enumerate(counts):
            if count:
                buckets[index].inc(count)
        self._child._sum.inc(total)


class CounterBatch:
    """Increments for one labelled child of a ``prometheus_client.Counter``."""

    __slots__ = ("_child", "_pending", "_lock")

    def __init__(self, child: Any) -> None:
        self._child = child
        self._pending = 0.0
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0) -> None:
        with self._lock:
            self._pending += amount

    def sync(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, 0.0
        if pending:
            self._child.inc(pending)
