"""The snapshot cache bounds how often the actor system is asked, whatever the polling rate (S3.3-e)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from monitoring.health import evaluate
from tests.unit.monitoring.snapshot_factory import NOW_US, US, settings, snapshot
from web.metrics_view import MetricsReading
from web.snapshot_cache import SnapshotCache
from web.status_view import build

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = NOW_US

    def __call__(self) -> int:
        return self.now


def test_S3_3_e_polling_asks_the_actors_at_most_once_per_refresh_period() -> None:
    clock = Clock()
    calls = []
    cache = SnapshotCache(lambda: calls.append(1) or snapshot(), refresh_s=0.5, clock=clock)
    for _ in range(1000):  # 1000 polls within 100 ms
        assert cache.latest() is not None
        clock.now += 100
    assert len(calls) == 1
    clock.now += US
    cache.latest()
    assert len(calls) == 2


def test_provider_failure_keeps_last_snapshot_until_it_expires() -> None:
    clock = Clock()
    answers = [snapshot(), None]
    cache = SnapshotCache(lambda: answers.pop(0) if answers else None, refresh_s=0.5, expire_s=10, clock=clock)
    first = cache.latest()
    clock.now += US
    assert cache.latest() is first  # the second ask timed out: the cached one is still trusted
    clock.now += 11 * US
    assert cache.latest() is None


def test_provider_exception_reads_as_no_answer() -> None:
    def broken() -> None:
        raise TimeoutError("ask timed out")

    assert SnapshotCache(broken, clock=Clock()).latest() is None


def test_status_view_rates_over_the_window() -> None:
    clock = Clock()
    snaps = [snapshot(total_received=1000, total_published=900),
             snapshot(now_us=NOW_US + 2 * US, total_received=3000, total_published=2500)]
    readings = [MetricsReading({"upbit:KRW-BTC": 10.0}, {"ttl_expired": 2.0}, {0.01: 5.0, float("inf"): 5.0}),
                MetricsReading({"upbit:KRW-BTC": 50.0}, {"ttl_expired": 2.0}, {0.01: 15.0, float("inf"): 25.0})]
    cache = SnapshotCache(lambda: snaps.pop(0), lambda: readings.pop(0), refresh_s=0.5, clock=clock)
    cache.latest()
    clock.now += 2 * US
    latest = cache.latest()
    assert latest is not None
    view = build(cache.window(), evaluate(latest.snapshot, clock.now, settings()))
    assert view["rates"]["received_per_s"] == pytest.approx(1000.0)
    assert view["rates"]["published_per_s"] == pytest.approx(800.0)
    btc = next(m for m in view["markets"] if m["market"] == "upbit:KRW-BTC")
    assert btc["rate_per_s"] == pytest.approx(20.0)
    eth = next(m for m in view["markets"] if m["market"] == "upbit:KRW-ETH")
    assert eth["rate_per_s"] is None  # no per-market counter for it: unknown, not zero
    assert view["publish_latency_s"]["count"] == 20.0  # only the window's observations
    assert view["publish_latency_s"]["p50"] == pytest.approx(0.01)  # 10 of 20 in the first bucket
    assert view["drops"] == {"ttl_expired": 2.0}
    assert view["health"]["status"] == "HEALTHY"


def test_status_view_with_enum_states_is_plain_json() -> None:
    from domain.state import ConnectionState

    snap = snapshot()
    conns = {k: {**v, "state": ConnectionState.RECONNECTING} for k, v in snap.connections.items()}
    snap = replace(snap, connections=conns)
    cache = SnapshotCache(lambda: snap, clock=Clock())
    latest = cache.latest()
    assert latest is not None
    view = build(cache.window(), evaluate(snap, NOW_US, settings()))
    assert {c["state"] for c in view["connections"]} == {"RECONNECTING"}
    assert view["health"]["status"] == "UNHEALTHY"
