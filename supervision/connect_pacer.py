"""Connect pacing: a token bucket per exchange so (re)connections stay under the exchanges' per-IP
connect limits (Upbit 5/s, Bithumb 10/s). Pure: the caller passes the clock and owns the timer."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from domain.capabilities import CAPABILITIES

# Connection requests per second and IP, from the exchanges' documentation.
DEFAULT_RATES: dict[str, float] = {name: caps.connects_per_s for name, caps in CAPABILITIES.items()}
FALLBACK_RATE = 5.0
# Grants are spaced slightly wider than 1/rate so no one-second window ever holds rate + 1 grants.
SAFETY = 1.05


class _Bucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.interval = SAFETY / rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated: float | None = None
        self.waiting: OrderedDict[str, None] = OrderedDict()  # FIFO, one entry per connection

    def refill(self, now: float) -> None:
        if self.updated is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) / self.interval)
        self.updated = now


class ConnectPacer:
    """``request`` queues a connection; ``release`` returns the ones allowed to connect now."""

    def __init__(self, rates: Mapping[str, float] | None = None, capacity: float = 1.0) -> None:
        self._rates = {**DEFAULT_RATES, **(rates or {})}
        self._capacity = capacity
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, exchange: str) -> _Bucket:
        bucket = self._buckets.get(exchange)
        if bucket is None:
            bucket = self._buckets[exchange] = _Bucket(self._rates.get(exchange, FALLBACK_RATE), self._capacity)
        return bucket

    def request(self, exchange: str, connection_id: str) -> None:
        """A repeated request from a connection already waiting keeps its place (no double grant)."""
        self._bucket(exchange).waiting.setdefault(connection_id, None)

    def forget(self, connection_id: str) -> None:
        for bucket in self._buckets.values():
            bucket.waiting.pop(connection_id, None)

    def release(self, now: float) -> list[str]:
        granted: list[str] = []
        for bucket in self._buckets.values():
            bucket.refill(now)
            while bucket.waiting and bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                granted.append(bucket.waiting.popitem(last=False)[0])
        return granted

    def next_release_in(self, now: float) -> float | None:
        """Seconds until the next queued request can be granted; None when nothing waits."""
        delays = []
        for bucket in self._buckets.values():
            if bucket.waiting:
                bucket.refill(now)
                delays.append(max(0.0, (1.0 - bucket.tokens) * bucket.interval))
        return min(delays) if delays else None

    def waiting(self) -> int:
        return sum(len(b.waiting) for b in self._buckets.values())
