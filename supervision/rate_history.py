"""Messages per second per exchange over the recent past, for the dashboard's chart.

The supervisor feeds it every exchange's cumulative received count as connector stats arrive;
it keeps the count at the last sample of each ``bucket_s`` bucket for ``span_s`` and answers
the rate between consecutive buckets' samples. Pure: the
time is passed in. Counts that go backwards (a restarted connector starts from zero) are taken
as they come: the status book's totals never go backwards.
"""
from __future__ import annotations

from collections import deque
from typing import Any

_US = 1_000_000


class RateHistory:
    def __init__(self, bucket_s: float = 10.0, span_s: float = 900.0) -> None:
        self.bucket_us = int(bucket_s * _US)
        self.buckets = max(1, int(span_s / bucket_s))
        # (bucket start, time of its last sample, {exchange: cumulative count at that sample})
        self._ends: deque[tuple[int, int, dict[str, int]]] = deque(maxlen=self.buckets + 1)

    def sample(self, now_us: int, totals: dict[str, int]) -> None:
        start = now_us - now_us % self.bucket_us
        if self._ends and self._ends[-1][0] == start:
            self._ends[-1] = (start, now_us, dict(totals))
        elif not self._ends or start > self._ends[-1][0]:
            self._ends.append((start, now_us, dict(totals)))

    def points(self, now_us: int) -> list[dict[str, Any]]:
        """[{t_us: sample time, rates: {exchange: messages per second}}], oldest first, within the
        span before ``now_us``: each bucket's rate is the count's growth since the previous
        bucket's last sample, over the time between the two samples."""
        out: list[dict[str, Any]] = []
        ends = list(self._ends)
        oldest = now_us - self.buckets * self.bucket_us
        for (_, prev_at, prev), (start, at, totals) in zip(ends, ends[1:], strict=False):
            if start < oldest or at <= prev_at:
                continue
            seconds = (at - prev_at) / _US
            out.append({"t_us": at, "rates": {
                exchange: round(max(0, count - prev.get(exchange, 0)) / seconds, 3)
                for exchange, count in totals.items()}})
        return out
