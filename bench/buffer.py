"""Throughput of the buffer queue's operations (records per second), printed as a table.

    python bench/buffer.py [--records N] [--repeat R]

Scenarios: plain enqueue, dequeue in pulls of 500, the full-queue paths (superseded
orderbooks, overflowing trades), TTL expiry, and a steady mixed load (enqueue 100 / pull 500).
Each figure is the best of R runs.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from buffering.buffer_queue import BufferQueue  # noqa: E402
from domain.market_data import MarketDataMessage  # noqa: E402

T0 = 1_767_225_600_000_000
CODES = [f"KRW-C{i:03d}" for i in range(200)]
PAYLOAD = b"x" * 120


def make_records(n: int, data_type: str) -> list[MarketDataMessage]:
    return [MarketDataMessage("upbit", data_type, CODES[i % len(CODES)], PAYLOAD, T0 + i, i + 1) for i in range(n)]


def best(fn: Callable[[], int], repeat: int) -> float:
    """Records per second; ``fn`` returns the records it handled and may set ``SETUP_S`` to
    exclude its own preparation from the timing."""
    rates = []
    for _ in range(repeat):
        SETUP_S[0] = 0.0
        started = time.perf_counter()
        ops = fn()
        rates.append(ops / (time.perf_counter() - started - SETUP_S[0]))
    return max(rates)


SETUP_S = [0.0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n: int = args.records
    trades, books = make_records(n, "trade"), make_records(n, "orderbook")
    mixed = [r for pair in zip(books, trades, strict=True) for r in pair][:n]

    def enqueue(records: list[MarketDataMessage]) -> Callable[[], int]:
        def run() -> int:
            q = BufferQueue(n + 1)
            for r in records:
                q.enqueue(r, T0)
            return len(records)
        return run

    def dequeue() -> int:
        started = time.perf_counter()
        q = BufferQueue(n + 1, {"trade": 3600.0, "orderbook": 3600.0})
        q.enqueue_many(mixed, T0)
        SETUP_S[0] = time.perf_counter() - started
        got = 0
        while batch := q.dequeue_batch(500, T0):
            got += len(batch)
        return got

    def full(records: list[MarketDataMessage]) -> Callable[[], int]:
        def run() -> int:
            q = BufferQueue(1000)
            for r in records:
                q.enqueue(r, T0)
            return len(records)
        return run

    def expiry() -> int:
        started = time.perf_counter()
        q = BufferQueue(n + 1, {"trade": 0.001, "orderbook": 0.001})
        q.enqueue_many(mixed, T0)
        SETUP_S[0] = time.perf_counter() - started
        return q.expire(T0 + 10 * 1_000_000 + n)

    def steady() -> int:
        q = BufferQueue(100_000)
        for start in range(0, n, 100):
            q.enqueue_many(mixed[start:start + 100], T0)
            if start % 500 == 0:
                q.dequeue_batch(500, T0)
        return n

    rows = [
        ("enqueue trades", best(enqueue(trades), args.repeat)),
        ("enqueue orderbooks", best(enqueue(books), args.repeat)),
        ("enqueue mixed", best(enqueue(mixed), args.repeat)),
        ("dequeue_batch(500), mixed", best(dequeue, args.repeat)),
        ("full: orderbooks superseded", best(full(books), args.repeat)),
        ("full: trades overflow", best(full(trades), args.repeat)),
        ("expire (stale heads)", best(expiry, args.repeat)),
        ("steady: enqueue 100 / pull 500", best(steady, args.repeat)),
    ]
    print(f"buffer queue, {n:,} records per run, best of {args.repeat} (python {sys.version.split()[0]})")
    for name, rate in rows:
        print(f"  {name:<34} {rate:>12,.0f} records/s")


if __name__ == "__main__":
    main()
