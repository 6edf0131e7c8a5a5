"""Health rules of seed S3.3 on constructed status snapshots."""
from __future__ import annotations

from dataclasses import replace

import pytest

from monitoring.health import HealthStatus, evaluate, readiness
from tests.unit.monitoring.snapshot_factory import NOW_US, US, settings, snapshot

pytestmark = pytest.mark.unit


def test_S3_3_a_normal_operation_is_healthy_200() -> None:
    report = evaluate(snapshot(), NOW_US, settings())
    assert report.status is HealthStatus.HEALTHY
    assert report.http_status == 200
    assert report.reasons() == []
    body = report.to_dict()
    assert body["status"] == "HEALTHY"
    assert body["components"]["connection:upbit-0"] == {"status": "HEALTHY", "reason": "CONNECTED"}
    assert body["markets"]["upbit:KRW-ETH"] == {"age_s": 1.0, "stale": False}


@pytest.mark.parametrize("state", ["RECONNECTING", "CONNECTING", "DISCONNECTED", "FAILED"])
def test_S3_3_b_websocket_down_is_unhealthy_503(state: str) -> None:
    report = evaluate(snapshot(upbit_state=state, upbit_reason="close 1006"), NOW_US, settings())
    assert report.status is HealthStatus.UNHEALTHY
    assert report.http_status == 503
    assert report.components["connection:upbit-0"].reason == f"{state}: close 1006"
    assert report.components["connection:bithumb-0"].status is HealthStatus.HEALTHY


def test_S3_3_b_connection_down_outranks_kafka_and_staleness() -> None:
    snap = snapshot(upbit_state="FAILED", consecutive_failures=4, market_age_s=300)
    assert evaluate(snap, NOW_US, settings()).status is HealthStatus.UNHEALTHY


def test_S3_3_c_kafka_failing_is_degraded_503() -> None:
    snap = snapshot(consecutive_failures=3, last_error="KafkaTimeoutError", cause="timed out", failing_for_s=4.2)
    report = evaluate(snap, NOW_US, settings())
    assert report.status is HealthStatus.DEGRADED
    assert report.http_status == 503
    assert report.components["kafka"].reason == (
        "orderbook: timed out for 4 s, 3 consecutive failures (KafkaTimeoutError)")
    assert any(r.startswith("kafka:") for r in report.reasons())


@pytest.mark.parametrize("cause", ["authentication failed", "broker unreachable", "timed out"])
def test_S3_3_c_kafka_health_names_the_cause(cause: str) -> None:
    snap = snapshot(consecutive_failures=2, last_error="x", cause=cause, failing_for_s=30.0)
    assert evaluate(snap, NOW_US, settings()).components["kafka"].reason.startswith(f"orderbook: {cause} for 30 s")


def test_S3_3_c_kafka_recovered_is_healthy_again() -> None:
    assert evaluate(snapshot(consecutive_failures=0), NOW_US, settings()).status is HealthStatus.HEALTHY


def test_S3_3_d_no_message_for_over_a_minute_is_degraded() -> None:
    report = evaluate(snapshot(market_age_s=61), NOW_US, settings())
    assert report.status is HealthStatus.DEGRADED
    assert report.http_status == 503
    assert report.markets["upbit:KRW-BTC"].stale
    assert "no message for over 60 s" in report.components["freshness"].reason


def test_S3_3_d_fifty_nine_seconds_is_still_fresh() -> None:
    assert evaluate(snapshot(market_age_s=59), NOW_US, settings()).status is HealthStatus.HEALTHY


def test_S3_3_d_threshold_follows_settings() -> None:
    assert evaluate(snapshot(market_age_s=20), NOW_US, settings(stale_after_s=10)).status is HealthStatus.DEGRADED


def test_S3_3_d_market_without_any_message_counts_from_service_start() -> None:
    fresh_start = replace(snapshot(started_us=NOW_US - 30 * US), markets={})
    report = evaluate(fresh_start, NOW_US, settings())
    assert report.markets["upbit:KRW-ETH"].age_s is None
    assert report.status is HealthStatus.HEALTHY  # 30 s after start: not yet stale
    later = evaluate(fresh_start, NOW_US + 31 * US, settings())
    assert later.status is HealthStatus.DEGRADED


def test_missing_snapshot_is_unhealthy() -> None:
    report = evaluate(None, NOW_US, settings())
    assert report.status is HealthStatus.UNHEALTHY
    assert report.http_status == 503
    assert "did not answer" in report.components["service"].reason


def test_stopped_service_is_unhealthy() -> None:
    assert evaluate(snapshot(running=False), NOW_US, settings()).status is HealthStatus.UNHEALTHY


def test_readiness_needs_kafka_and_every_connection() -> None:
    assert readiness(snapshot(), True).status is HealthStatus.HEALTHY
    assert readiness(snapshot(), False).reason == "Kafka is not reachable"
    assert readiness(snapshot(upbit_state="CONNECTING"), True).status is HealthStatus.UNHEALTHY
    assert readiness(snapshot(consecutive_failures=2), None).status is HealthStatus.UNHEALTHY
    assert readiness(None, True).status is HealthStatus.UNHEALTHY
