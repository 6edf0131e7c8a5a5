"""/health, /health/live, /health/ready, /metrics and / of the running krwfeed service (``python
actor_system.py``, fed by the exchange simulator, publishing to the real broker), under the faults the
health rules name, plus heavy health polling against ingestion throughput and JSON log lines.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.e2e.kafka_readback import kafka_control
from tests.integration.live_service import LiveService, live_service

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
CONNECTIONS = {"upbit-0", "upbit-1", "bithumb-0", "bithumb-1"}


@pytest.fixture
def streaming(kafka_bootstrap: str, tmp_path: Path) -> Iterator[LiveService]:
    """Per test: the Kafka test pauses the whole broker, which would wreck a shared service."""
    with live_service(tmp_path / "krwfeed", kafka_bootstrap, markets=8, rate=200) as live:
        yield live


@pytest.fixture
def fresh(kafka_bootstrap: str, tmp_path: Path) -> Iterator[LiveService]:
    """A service of its own, for tests that break something (with the shipped Kafka defaults, a
    broker pause of a few seconds does not stop it)."""
    with live_service(tmp_path / "krwfeed", kafka_bootstrap, markets=4, rate=100) as live:
        yield live


def test_S3_3_a_endpoints_of_the_streaming_service(streaming: LiveService) -> None:
    # HEALTHY, and every market has had its first message (a market without one yet has age None)
    status, body = streaming.wait_json(
        "/health", lambda s, b: s == 200 and all(m["age_s"] is not None for m in b["markets"].values()),
        30, "HEALTHY with every market flowing")
    assert body["status"] == "HEALTHY" and body["reasons"] == []
    assert {f"connection:{c}" for c in CONNECTIONS} <= set(body["components"])
    assert body["components"]["kafka"]["status"] == "HEALTHY"
    expected_markets = {f"{e}:{c}" for e in ("upbit", "bithumb") for c in streaming.codes}
    assert set(body["markets"]) == expected_markets
    assert all(not m["stale"] and m["age_s"] < 60 for m in body["markets"].values())
    _, headers, _ = streaming.get("/health")
    assert headers["Content-Type"] == "application/health+json" and headers["Cache-Control"] == "no-store"

    assert streaming.get_json("/health/live") == (200, {"status": "HEALTHY",
                                                        "reason": "the process serves requests"})
    ready_status, ready = streaming.get_json("/health/ready")
    assert ready_status == 200 and ready["status"] == "HEALTHY", ready

    page_status, _, page = streaming.get("/")
    assert page_status == 200 and b"<html" in page.lower() and b"krwfeed" in page
    metrics_status, _, metrics = streaming.get("/metrics")
    assert metrics_status == 200
    for code in streaming.codes:
        assert f'ingestion_market_messages_received_total{{exchange="upbit",market="{code}"}}'.encode() in metrics


def test_S3_3_b_refused_and_dropped_connection_makes_health_unhealthy_503(fresh: LiveService) -> None:
    fresh.simulator.refuse(6, "upbit")
    fresh.simulator.drop("upbit")
    status, body = fresh.wait_json("/health", lambda s, b: s == 503 and b["status"] == "UNHEALTHY", 20,
                                   "UNHEALTHY while upbit refuses connections")
    assert any(r.startswith("connection:upbit-0: ") for r in body["reasons"]), body["reasons"]
    assert body["components"]["connection:upbit-0"]["status"] == "UNHEALTHY"
    assert body["components"]["connection:bithumb-0"]["status"] == "HEALTHY"
    assert fresh.get_json("/health/ready")[0] == 503
    assert fresh.get_json("/health/live")[0] == 200  # the process still serves: no restart wanted
    # The refusal ends after 6 s; the connector reconnects and health comes back by itself.
    fresh.wait_json("/health", lambda s, _: s == 200, 40, "HEALTHY again after the reconnect")


def test_S3_3_c_paused_kafka_makes_health_degraded_503(fresh: LiveService, kafka_bootstrap: str) -> None:
    host, _, port = kafka_bootstrap.rpartition(":")
    if host != "127.0.0.1" or not (Path(__file__).parents[2] / "var" / f"kafka-{port}").is_dir():
        pytest.skip("the broker is not the project's local one: it cannot be paused here")
    kafka_control(int(port), "pause")
    try:
        status, body = fresh.wait_json("/health", lambda s, b: s == 503 and b["status"] == "DEGRADED", 30,
                                       "DEGRADED once publishing fails")
        assert any(r.startswith("kafka: ") for r in body["reasons"]), body["reasons"]
        assert "consecutive failures" in body["components"]["kafka"]["reason"]
        # a stopped broker first times the requests out, then answers no new connection: health
        # names one of those causes, never an unexplained error
        reason = body["components"]["kafka"]["reason"]
        assert "timed out for" in reason or "broker unreachable for" in reason, reason
        links = {name: c["status"] for name, c in body["components"].items() if name.startswith("connection:")}
        assert links == {"connection:upbit-0": "HEALTHY", "connection:bithumb-0": "HEALTHY"}  # still streaming
    finally:
        kafka_control(int(port), "resume")
    fresh.wait_json("/health", lambda s, _: s == 200, 40, "HEALTHY again after Kafka resumed")


def _kafka_end_offsets(live: LiveService, bootstrap: str) -> int:
    """Records in the service's topics, read from the broker: independent of the process being polled."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="krwfeed-observability")
    try:
        partitions = [TopicPartition(f"{live.topic_prefix}.{e}.{t}", p) for e in ("upbit", "bithumb")
                      for t in ("trade", "orderbook") for p in range(6)]
        return int(sum(consumer.end_offsets(partitions).values()))
    finally:
        consumer.close()


def _published_per_s(live: LiveService, bootstrap: str, seconds: float) -> float:
    first, began = _kafka_end_offsets(live, bootstrap), time.monotonic()
    time.sleep(seconds)
    return (_kafka_end_offsets(live, bootstrap) - first) / (time.monotonic() - began)


def _hammer(live: LiveService, stop: threading.Event, answered: list[int]) -> None:
    count = 0
    while not stop.is_set():
        status, _, _ = live.get("/health")
        count += status in (200, 503)
    answered.append(count)


def test_S3_3_e_heavy_health_polling_does_not_slow_ingestion(streaming: LiveService, kafka_bootstrap: str) -> None:
    seconds = 10.0
    quiet = _published_per_s(streaming, kafka_bootstrap, seconds)
    queries_before = streaming.get_json("/api/status")[1]["status_queries"]
    stop = threading.Event()
    answered: list[int] = []
    threads = [threading.Thread(target=_hammer, args=(streaming, stop, answered)) for _ in range(16)]
    for thread in threads:
        thread.start()
    try:
        polled = _published_per_s(streaming, kafka_bootstrap, seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    queries = streaming.get_json("/api/status")[1]["status_queries"] - queries_before
    requests = sum(answered)
    print(f"FIGURES health polling: {quiet:.0f} published/s without polling, {polled:.0f}/s with 16 threads "
          f"polling /health ({requests} answers, {requests / seconds:.0f}/s); {queries} status queries to the "
          f"actor system in that time")
    assert requests > 100, "the polling threads did not get answers"
    # The key property: the snapshot cache asks the actors at most every 0.5 s, however many requests
    # arrive, so polling adds no work on the actors' side.
    assert queries <= (seconds + 6) / 0.5, queries
    # Throughput is reported, not compared (no timing assertions in tests): 16 threads polling as
    # fast as they can is no load balancer's pattern. bench/health_polling.py measures the effect of
    # 10 and 100 requests/s on throughput and CPU per message. Ingestion must go on under polling.
    assert quiet > 0 and polled > 0, (quiet, polled)


def test_S4_2_c_json_log_lines_carry_level_logger_message_and_no_secret(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """The broker speaks PLAINTEXT, so the configured SASL login fails and the Kafka client logs errors
    (which could quote the configuration): the password must appear in no line."""
    _json_logs_without_secret(kafka_bootstrap, tmp_path)


def _json_logs_without_secret(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    secret = "json-Secret-" + tmp_path.name
    log_file = tmp_path / "krwfeed.log"
    with live_service(tmp_path / "krwfeed", kafka_bootstrap, markets=2, rate=20, per_connection=2,
                      log={"json": True, "level": "DEBUG", "file": str(log_file)},
                      kafka={"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"},
                      env={"KRWFEED_KAFKA_SASL_USERNAME": "feeder", "KRWFEED_KAFKA_SASL_PASSWORD": secret},
                      wait_healthy=False) as live:
        live.service.wait_for(lambda s: s["total_received"] > 20, 20, "records received")
        live.service.terminate()
        stdout = live.service.stdout_path.read_text()
        thespian_log = live.service.workdir / "thespian.log"
        internal = thespian_log.read_text() if thespian_log.exists() else ""
    events = _parse_lines(stdout)
    assert len(events) > 10
    assert {"DEBUG", "INFO"} <= {e["level"] for e in events}
    assert {"krwfeed.main", "krwfeed.connector"} <= {e["logger"] for e in events}
    assert any("CONNECTED" in e["msg"] for e in events)
    file_events = _parse_lines(log_file.read_text())
    assert file_events and all({"ts", "level", "logger", "msg"} <= set(e) for e in file_events)
    for text in (stdout, log_file.read_text(), internal):
        assert secret not in text and json.dumps(secret) not in text


def _parse_lines(text: str) -> list[dict[str, Any]]:
    """Every line is one JSON event (a multi-line message or traceback would break this)."""
    events = []
    for line in text.splitlines():
        event = json.loads(line)
        assert {"ts", "level", "logger", "pid", "msg"} <= set(event), line
        events.append(event)
    return events
