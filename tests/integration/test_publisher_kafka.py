"""Both publishers (kafka-python and confluent-kafka) against the real broker: keys, partitions,
order, headers, failures, close(). Every test that takes ``client`` runs once per client."""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from domain.market_data import MarketDataMessage
from domain.settings import KafkaSettings
from publishers.base import MessagePublisher
from publishers.factory import make_publisher
from publishers.kafka_config import librdkafka_config, producer_kwargs

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CODES = ("KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE", "KRW-ADA")


# --- helpers shared with test_buffer_producer_actors ---------------------------------------
@pytest.fixture
def bootstrap(request: pytest.FixtureRequest) -> str:
    """The project's broker fixture when available, else KRWFEED_KAFKA_BOOTSTRAP."""
    try:
        value = request.getfixturevalue("kafka_bootstrap")
        return value if isinstance(value, str) else ",".join(value)
    except pytest.FixtureLookupError:
        env = os.environ.get("KRWFEED_KAFKA_BOOTSTRAP")
        if not env:
            pytest.fail("no Kafka broker: neither the kafka_bootstrap fixture nor KRWFEED_KAFKA_BOOTSTRAP")
        return env


def create_topics(bootstrap: str, topics: list[str], partitions: int = 6) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="krwfeed-tests")
    try:
        admin.create_topics(
            {t: {"num_partitions": partitions, "replication_factor": 1} for t in topics},
            timeout_ms=10_000, wait_for_metadata=True,
        )
    finally:
        admin.close()
    # A new partition can report NotLeaderForPartition for a moment, and retries=0 would turn that
    # into a failed send; ListOffsets needs a leader, so once it answers for every partition the
    # topics are ready.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="krwfeed-tests")
    try:
        deadline = time.monotonic() + 15
        for topic in topics:
            while True:
                found = consumer.partitions_for_topic(topic) or set()
                try:
                    if len(found) == partitions:
                        consumer.end_offsets([TopicPartition(topic, p) for p in found])
                        break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                if time.monotonic() > deadline:
                    raise TimeoutError(f"topic {topic} not ready")
                time.sleep(0.1)
    finally:
        consumer.close()


def unique_template(prefix: str) -> str:
    return f"it-{prefix}-{uuid.uuid4().hex[:8]}.{{exchange}}.{{data_type}}"


def consume(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0) -> list[Any]:
    """Every record of ``topic`` from the beginning, once ``expected`` have arrived (or timeout)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="krwfeed-tests")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        got: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend(batch)
        return got
    finally:
        consumer.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def trade(code: str, seq: int, exchange: str = "upbit") -> MarketDataMessage:
    return MarketDataMessage(exchange, "trade", code, f"{exchange}|{code}|{seq}".encode(), time.time_ns() // 1000, seq)


def settled(publisher: MessagePublisher, predicate: Any, timeout_s: float) -> bool:
    """Wait for ``predicate()``, polling the client as the producer actor's tick does."""
    def check() -> bool:
        publisher.poll()
        return bool(predicate())
    return wait_for(check, timeout_s)


# --- tests --------------------------------------------------------------------------------
@pytest.fixture(params=["kafka-python", "confluent-kafka"])
def client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def publisher(bootstrap: str, client: str) -> Iterator[MessagePublisher]:
    settings = KafkaSettings(client=client, bootstrap_servers=(bootstrap,), topic_template=unique_template("pub"))
    create_topics(bootstrap, [settings.topic_for("upbit", "trade")])
    pub = make_publisher(settings, "trade")
    yield pub
    pub.close(2.0)


def test_kwargs_are_accepted_by_kafka_python(bootstrap: str) -> None:
    producer = KafkaProducer(**producer_kwargs(KafkaSettings(bootstrap_servers=(bootstrap,))))
    assert producer.config["enable_idempotence"] is False and producer.config["retries"] == 0
    assert producer.config["compression_type"] == "lz4" and producer.config["acks"] == -1
    producer.close(timeout=2)


def test_S2_4_a_seed_settings_reach_librdkafka_one_to_one(bootstrap: str) -> None:
    from confluent_kafka import Producer

    config = librdkafka_config(KafkaSettings(bootstrap_servers=(bootstrap,)))
    assert {k: config[k] for k in ("linger.ms", "acks", "batch.size", "compression.type",
                                   "max.in.flight.requests.per.connection", "retries", "request.timeout.ms",
                                   "client.id")} == {
        "linger.ms": 5, "acks": "all", "batch.size": 16384, "compression.type": "lz4",
        "max.in.flight.requests.per.connection": 5, "retries": 0, "request.timeout.ms": 500,
        "client.id": "data-ingestion-connector"}
    assert config["reconnect.backoff.max.ms"] == 1000 and config["enable.idempotence"] is False
    producer = Producer(config)  # librdkafka accepts every property (it raises on an unknown one)
    assert producer.flush(1.0) == 0


def test_S2_4_b_keyed_records_land_one_partition_per_code_in_order(
    bootstrap: str, publisher: MessagePublisher
) -> None:
    records = [trade(CODES[i % len(CODES)], i + 1) for i in range(1200)]
    for start in range(0, len(records), 500):
        publisher.publish(records[start:start + 500])
    assert publisher.flush(10.0) == 0
    snap = publisher.snapshot()
    assert (snap.succeeded, snap.failed, snap.consecutive_failures) == (1200, 0, 0)

    topic = publisher.settings.topic_for("upbit", "trade")  # type: ignore[attr-defined]
    got = consume(bootstrap, topic, 1200)
    assert len(got) == 1200
    partitions: dict[bytes, set[int]] = defaultdict(set)
    by_key: dict[bytes, list[Any]] = defaultdict(list)
    for m in sorted(got, key=lambda m: (m.partition, m.offset)):
        partitions[m.key].add(m.partition)
        by_key[m.key].append(m)
    assert set(by_key) == {c.encode() for c in CODES}
    assert all(len(p) == 1 for p in partitions.values())
    assert len({next(iter(p)) for p in partitions.values()}) > 1  # codes spread over partitions
    sent = {(r.code.encode(), r.sequential_id): r.raw_data for r in records}
    for key, messages in by_key.items():
        seqs = [int(m.value.split(b"|")[2]) for m in messages]
        assert seqs == sorted(seqs)  # per-code order kept
        for m in messages:
            assert m.value == sent[(key, int(m.value.split(b"|")[2]))]  # bytes unchanged
            assert dict(m.headers) == {
                "schema": b"krwfeed.v1.Trade", "exchange": b"upbit", "data_type": b"trade",
            }


def test_S3_1_e_unreachable_broker_failures_counted_until_fatal_and_close_does_not_raise(client: str) -> None:
    # 3 failed attempts spread over 1.5 s (the bound is lowered only to keep the test short)
    settings = KafkaSettings(
        client=client, bootstrap_servers=(f"127.0.0.1:{free_port()}",), max_block_ms=300,
        max_consecutive_failures=3, max_outage_s=1.5, delivery_timeout_ms=600,
    )
    started = time.monotonic()
    pub = make_publisher(settings, "trade")
    assert time.monotonic() - started < 1.0  # no bootstrap at construction
    first = time.monotonic()
    n = 0
    while not pub.snapshot().fatal and time.monotonic() - first < 15:
        n += 1
        pub.publish([trade("KRW-BTC", n * 10 + i) for i in range(5)])
        settled(pub, lambda: pub.snapshot().in_flight == 0, 5.0)
    snap = pub.snapshot()
    assert snap.fatal and snap.consecutive_failures == 3
    assert time.monotonic() - first >= 1.5  # never before the outage bound
    assert snap.failed == 5 * n and snap.succeeded == 0 and snap.in_flight == 0
    assert snap.cause == "broker unreachable", snap
    pub.close(0.5)


@pytest.mark.faults
def test_S3_1_h_paused_broker_fails_in_flight_records_then_publishing_resumes(
    bootstrap: str, publisher: MessagePublisher
) -> None:
    port = bootstrap.split(",")[0].rsplit(":", 1)[1]
    env = {**os.environ, "KAFKA_PORT": port}
    assert publisher.publish([trade("KRW-BTC", 1)]) == 1
    assert publisher.flush(5.0) == 0 and publisher.snapshot().succeeded == 1
    subprocess.run([str(ROOT / "scripts/kafka.sh"), "pause"], env=env, check=True, capture_output=True)
    try:
        publisher.publish([trade("KRW-BTC", s) for s in range(2, 52)])
        # request_timeout_ms=500 and delivery_timeout_ms=3000 resolve every pending record
        assert settled(publisher, lambda: publisher.snapshot().in_flight == 0, 10.0)
        snap = publisher.snapshot()
        assert snap.failed == 50 and snap.consecutive_failures == 1 and not snap.fatal
        assert snap.cause == "timed out", snap  # paused, not gone: the requests time out
    finally:
        subprocess.run([str(ROOT / "scripts/kafka.sh"), "resume"], env=env, check=True, capture_output=True)
    publisher.publish([trade("KRW-BTC", 100)])
    assert settled(publisher, lambda: publisher.snapshot().succeeded == 2, 15.0)
    assert publisher.snapshot().consecutive_failures == 0


@pytest.mark.faults
def test_close_with_records_pending_and_broker_paused_does_not_raise(
    bootstrap: str, client: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = bootstrap.split(",")[0].rsplit(":", 1)[1]
    env = {**os.environ, "KAFKA_PORT": port}
    settings = KafkaSettings(client=client, bootstrap_servers=(bootstrap,), topic_template=unique_template("close"),
                             delivery_timeout_ms=30_000)
    create_topics(bootstrap, [settings.topic_for("upbit", "trade")])
    pub = make_publisher(settings, "trade")
    pub.publish([trade("KRW-BTC", 1)])
    assert pub.flush(5.0) == 0
    subprocess.run([str(ROOT / "scripts/kafka.sh"), "pause"], env=env, check=True, capture_output=True)
    try:
        pub.publish([trade("KRW-BTC", 2)])
        if client == "kafka-python":
            # once that request times out (request_timeout_ms=500) the connection is gone and new
            # records wait in the client's accumulator for a reconnection that cannot complete
            assert settled(pub, lambda: pub.snapshot().failed == 1, 5.0)
        else:  # librdkafka keeps the request in flight until the delivery timeout (30 s here)
            time.sleep(1.0)
            assert pub.snapshot().failed == 0
        pub.publish([trade("KRW-BTC", s) for s in range(3, 13)])
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="krwfeed.publisher"):
            pub.close(1.0)  # kafka-python raises KafkaTimeoutError here; the publisher must not
        assert time.monotonic() - started < 5.0
        expected = {"kafka-python": "closed with 10 records unresolved: KafkaTimeoutError",
                    "confluent-kafka": "closed with 11 records unresolved (purged, counted as failed)"}[client]
        assert any(expected in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
        # every record is counted: librdkafka's purged records through their callbacks, the ones
        # kafka-python gives up at close (their callbacks never fire) by the publisher
        snap = pub.snapshot()
        assert (snap.failed, snap.in_flight) == (11, 0), snap
        if client == "confluent-kafka":
            assert "_PURGE" in snap.last_error, snap
    finally:
        subprocess.run([str(ROOT / "scripts/kafka.sh"), "resume"], env=env, check=True, capture_output=True)
