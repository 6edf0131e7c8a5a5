"""The web endpoints over HTTP: Flask's test client, then the real web server (waitress) under polling load."""
from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from flask import Flask

from domain.clock import utc_now_us
from domain.settings import Secret
from messages import StatusSnapshot
from tests.unit.monitoring.snapshot_factory import settings, snapshot
from web.app import create_app
from web.server import WebServer

pytestmark = pytest.mark.integration


def live_snapshot(**kwargs: object) -> Callable[[], StatusSnapshot]:
    """Snapshots stamped with the real clock, as the actor system's would be."""
    return lambda: snapshot(now_us=utc_now_us(), **kwargs)  # type: ignore[arg-type]


def app_for(provider: Callable[[], StatusSnapshot | None], probe: Callable[[], bool] | None = None) -> Flask:
    return create_app(provider, settings=settings(), metrics_dir=None, kafka_probe=probe)


def test_S3_3_a_health_is_200_health_json_not_cached() -> None:
    response = app_for(live_snapshot()).test_client().get("/health")
    assert response.status_code == 200
    assert response.content_type == "application/health+json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json(force=True)
    assert body["status"] == "HEALTHY"
    assert body["components"]["kafka"]["status"] == "HEALTHY"
    assert set(body["markets"]) == {"upbit:KRW-BTC", "upbit:KRW-ETH", "bithumb:KRW-BTC"}
    assert body["markets"]["bithumb:KRW-BTC"]["stale"] is False


def test_S3_3_b_connection_down_answers_503_with_reason() -> None:
    app = app_for(live_snapshot(upbit_state="RECONNECTING", upbit_reason="close 1006"))
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json(force=True)
    assert body["status"] == "UNHEALTHY"
    assert body["components"]["connection:upbit-0"]["reason"] == "RECONNECTING: close 1006"


def test_S3_3_c_kafka_failing_answers_503_degraded() -> None:
    response = app_for(live_snapshot(consecutive_failures=2, last_error="timeout")).test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json(force=True)["status"] == "DEGRADED"


def test_S3_3_d_silent_markets_answer_503_degraded() -> None:
    response = app_for(live_snapshot(market_age_s=75)).test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json(force=True)
    assert body["status"] == "DEGRADED"
    assert body["markets"]["upbit:KRW-BTC"]["age_s"] >= 75


def test_no_answer_from_the_actor_system_is_unhealthy() -> None:
    client = app_for(lambda: None).test_client()
    assert client.get("/health").status_code == 503
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 503
    assert client.get("/api/status").status_code == 503


def test_readiness_follows_kafka_probe_and_connections() -> None:
    reachable = {"value": True}
    client = app_for(live_snapshot(), probe=lambda: reachable["value"]).test_client()
    assert client.get("/health/ready").status_code == 200
    down = app_for(live_snapshot(), probe=lambda: False).test_client().get("/health/ready")
    assert down.status_code == 503
    assert down.get_json(force=True)["reason"] == "Kafka is not reachable"
    connecting = app_for(live_snapshot(upbit_state="CONNECTING"), probe=lambda: True).test_client()
    assert connecting.get("/health/ready").status_code == 503


def test_metrics_carry_snapshot_gauges_and_pass_promtool() -> None:
    text = app_for(live_snapshot(upbit_state="RECONNECTING", market_age_s=12)).test_client().get("/metrics").text
    assert 'ingestion_connection_state{connection="upbit-0",exchange="upbit",state="RECONNECTING"} 1.0' in text
    assert 'ingestion_connection_state{connection="upbit-0",exchange="upbit",state="CONNECTED"} 0.0' in text
    assert 'ingestion_seconds_since_last_message{exchange="upbit",market="KRW-ETH"} 12' in text
    assert "ingestion_service_info{" in text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (scripts/setup.sh installs Debian's prometheus)")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_api_status_and_dashboard_page_are_self_contained() -> None:
    client = app_for(live_snapshot()).test_client()
    status = client.get("/api/status").get_json()
    assert {c["id"] for c in status["connections"]} == {"upbit-0", "bithumb-0"}
    # the snapshot's buffer drops, by reason (other reasons may come from metrics other tests in this
    # process recorded: the view merges the two sources)
    assert status["drops"]["ttl_expired"] == 2
    client.get("/api/status")
    assert status["status_queries"] == 1  # the second request within 0.5 s was answered from the cache
    assert client.get("/api/status").get_json()["status_queries"] == 1
    page = client.get("/").text
    assert 'id="connections"' in page and "dashboard.js" in page
    assert "http://" not in page and "https://" not in page  # the machine may be offline: no CDN
    assert "fetch(" in client.get("/static/dashboard.js").text


@pytest.fixture
def slow_server() -> Iterator[tuple[str, list[float]]]:
    calls: list[float] = []

    def slow_provider() -> StatusSnapshot:
        calls.append(time.monotonic())
        time.sleep(0.2)  # an actor system busy ingesting
        return replace(snapshot(now_us=utc_now_us()))

    server = WebServer(app_for(slow_provider), "127.0.0.1", 0)
    server.start()
    try:
        host, port = server.address
        yield f"http://{host}:{port}", calls
    finally:
        server.stop()


def test_S3_3_e_heavy_health_polling_does_not_reach_the_actors(slow_server: tuple[str, list[float]]) -> None:
    base, calls = slow_server

    def poll(_: int) -> tuple[int, float]:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + "/health", timeout=5) as response:
                return response.status, time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(poll, range(400)))
    elapsed = time.monotonic() - started
    assert {code for code, _ in results} == {200}
    # At most one status query per 0.5 s refresh period (plus the first), however hard /health is polled.
    assert len(calls) <= elapsed / 0.5 + 2, (len(calls), elapsed)
    print(f"400 polls in {elapsed:.2f} s, {len(calls)} status queries, "
          f"slowest answer {max(t for _, t in results) * 1000:.0f} ms")


def test_auth_scope_all_guards_health_and_metrics_too() -> None:
    token = "scope-all-token-0123456789"
    guarded = replace(settings(), web=replace(settings().web, token=Secret(token), auth_scope="all"))
    client = create_app(live_snapshot(), settings=guarded, metrics_dir=None).test_client()
    for path in ("/health", "/health/live", "/metrics", "/api/status", "/"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200, path
    open_client = app_for(live_snapshot()).test_client()  # no token configured: nothing is guarded
    assert open_client.get("/api/status").status_code == 200 and open_client.get("/").status_code == 200


def test_S3_3_e_polled_answers_are_rendered_once_per_period_by_low_priority_threads() -> None:
    """Through waitress: 200 polls of /health and /api/status cost a handful of renders, not 200,
    and the threads that served them run below the service's CPU priority."""
    import os
    import sys
    import threading

    from web.server import WEB_NICENESS

    niceness: list[int] = []

    def provider() -> StatusSnapshot:
        if sys.platform.startswith("linux"):
            niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return snapshot(now_us=utc_now_us())

    app = app_for(provider)
    answers = app.extensions["krwfeed.rendered_answers"]
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    try:
        host, port = server.address
        started = time.monotonic()
        bodies = set()
        for i in range(200):
            path = ("/health", "/api/status")[i % 2]
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as response:
                assert response.status == 200
                bodies.add((path, response.read()))
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    periods = elapsed / 0.5 + 2
    assert answers.renders <= 2 * periods, (answers.renders, elapsed)  # one per endpoint and period
    assert len(bodies) <= answers.renders  # the answers served are the rendered ones, unchanged
    if sys.platform.startswith("linux"):
        assert niceness and min(niceness) >= WEB_NICENESS, niceness
