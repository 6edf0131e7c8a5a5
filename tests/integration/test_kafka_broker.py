"""The project's Kafka broker, checked with a client that shares no code with kafka-python:
Debian's kcat (librdkafka). Records written with the service's producer settings must come back
with the same key, partition, offset, headers and bytes."""
from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Callable

import pytest
from kafka import KafkaProducer

from domain.settings import KafkaSettings
from tests.support.kafka_broker import KafkaControl, KafkaSession, LocalBroker, read_all, unavailable

pytestmark = pytest.mark.integration

KCAT_TIMEOUT_S = 30.0


def project_producer(bootstrap: str) -> KafkaProducer:
    """A producer configured exactly from the service's default KafkaSettings."""
    s = KafkaSettings(bootstrap_servers=(bootstrap,))
    return KafkaProducer(
        bootstrap_servers=list(s.bootstrap_servers), client_id=s.client_id, acks=s.acks,
        linger_ms=s.linger_ms, batch_size=s.batch_size, compression_type=s.compression_type,
        max_in_flight_requests_per_connection=s.max_in_flight_requests_per_connection,
        retries=s.retries, request_timeout_ms=s.request_timeout_ms,
        delivery_timeout_ms=s.delivery_timeout_ms, max_block_ms=s.max_block_ms,
        api_version=s.api_version, enable_idempotence=s.enable_idempotence,
    )


def kcat(bootstrap: str, *args: str, stdin: bytes | None = None) -> bytes:
    exe = shutil.which("kcat")
    if exe is None:
        unavailable("kcat is not installed (scripts/setup.sh installs it with apt)")
    done = subprocess.run([exe, "-b", bootstrap, *args], input=stdin, capture_output=True,
                          timeout=KCAT_TIMEOUT_S, check=False)
    assert done.returncode == 0, f"kcat {' '.join(args)} failed: {done.stderr.decode(errors='replace')}"
    return done.stdout


def parse_framed(stream: bytes) -> list[tuple[bytes, int, int, bytes]]:
    """Parses kcat output in the format '%k\\t%p\\t%o\\t%R%s': %R is the payload length as a
    big-endian int32, so binary payloads (any byte, newlines included) are framed exactly."""
    out: list[tuple[bytes, int, int, bytes]] = []
    pos = 0
    while pos < len(stream):
        key_end = stream.index(b"\t", pos)
        part_end = stream.index(b"\t", key_end + 1)
        off_end = stream.index(b"\t", part_end + 1)
        size = int.from_bytes(stream[off_end + 1:off_end + 5], "big")
        start = off_end + 5
        out.append((stream[pos:key_end], int(stream[key_end + 1:part_end]),
                    int(stream[part_end + 1:off_end]), stream[start:start + size]))
        pos = start + size
    return out


def test_single_binary_record_read_back_by_kcat_with_same_key_partition_and_bytes(
    kafka_bootstrap: str, kafka_topic_factory: Callable[..., str]
) -> None:
    topic = kafka_topic_factory("roundtrip", partitions=6)
    # Every byte value, plus the separators a line-oriented reader would trip on.
    payload = bytes(range(256)) + b"\n\t\r\x00" + bytes(range(255, -1, -1))
    key = b"KRW-BTC"
    producer = project_producer(kafka_bootstrap)
    try:
        meta = producer.send(topic, key=key, value=payload, headers=[("seq", b"42")]).get(timeout=10)
    finally:
        producer.close(timeout=5)

    line = kcat(kafka_bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                "-f", "%k\t%p\t%o\t%S\t%h\n")
    assert line.decode().splitlines() == [f"KRW-BTC\t{meta.partition}\t{meta.offset}\t{len(payload)}\tseq=42"]

    raw = kcat(kafka_bootstrap, "-C", "-t", topic, "-p", str(meta.partition), "-o", str(meta.offset),
               "-c", "1", "-e", "-q", "-f", "%s")
    assert raw == payload

    # kcat -J escapes quotes and control bytes but passes bytes >= 0x80 through as they are.
    as_json = json.loads(kcat(kafka_bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J")
                         .decode("utf-8", "surrogateescape"))
    assert (as_json["key"], as_json["partition"], as_json["offset"]) == ("KRW-BTC", meta.partition, meta.offset)


def test_many_keyed_records_match_kcat_and_read_all(
    kafka_bootstrap: str, kafka_topic_factory: Callable[..., str]
) -> None:
    topic = kafka_topic_factory("roundtrip-many", partitions=6)
    rng = random.Random(20261126)
    markets = [f"KRW-M{i:02d}".encode() for i in range(20)]
    sent: dict[tuple[int, int], tuple[bytes, bytes]] = {}
    producer = project_producer(kafka_bootstrap)
    try:
        futures = []
        for i in range(300):
            key = markets[i % len(markets)]
            value = rng.randbytes(rng.randint(0, 600))
            futures.append((key, value, producer.send(topic, key=key, value=value)))
        producer.flush(timeout=10)
        for key, value, future in futures:
            meta = future.get(timeout=10)
            sent[(meta.partition, meta.offset)] = (key, value)
    finally:
        producer.close(timeout=5)
    assert len(sent) == 300

    framed = parse_framed(kcat(kafka_bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                               "-f", "%k\t%p\t%o\t%R%s"))
    by_kcat = {(p, o): (k, v) for k, p, o, v in framed}
    assert len(framed) == 300
    assert by_kcat == sent

    by_helper = {(r.partition, r.offset): (r.key, r.value) for r in read_all(kafka_bootstrap, topic, 30)}
    assert by_helper == sent
    # Keyed by market: every market lands on exactly one partition.
    partitions_of = {key: {p for (p, _), (k, _) in sent.items() if k == key} for key in markets}
    assert all(len(ps) == 1 for ps in partitions_of.values())


def test_key_partitioning_matches_librdkafka_java_compatible_murmur2(
    kafka_bootstrap: str, kafka_topic_factory: Callable[..., str]
) -> None:
    """Flink and Java clients hash keys with murmur2; librdkafka's murmur2_random is that hash.
    The same market must land on the same partition whichever client wrote it."""
    topic = kafka_topic_factory("partitioner", partitions=6)
    markets = [f"KRW-{name}" for name in ("BTC", "ETH", "XRP", "SOL", "DOGE", "ADA", "AVAX", "LINK",
                                          "DOT", "TRX", "SHIB", "ETC", "BCH", "NEAR", "ATOM", "SUI")]
    producer = project_producer(kafka_bootstrap)
    try:
        by_python = {m: producer.send(topic, key=m.encode(), value=b"py").get(timeout=10).partition
                     for m in markets}
    finally:
        producer.close(timeout=5)
    lines = "".join(f"{m}\tkcat\n" for m in markets).encode()
    kcat(kafka_bootstrap, "-P", "-t", topic, "-K", "\t", "-X", "partitioner=murmur2_random", stdin=lines)

    by_kcat = {r.key.decode(): r.partition for r in read_all(kafka_bootstrap, topic, 30)
               if r.key is not None and r.value == b"kcat"}
    assert by_kcat == by_python
    assert len(set(by_python.values())) > 1  # the keys really spread over partitions


def test_start_is_idempotent_and_status_reports_running(kafka_session: KafkaSession) -> None:
    broker = kafka_session.broker
    if broker is None:
        unavailable("kafka.sh start/status concern the project's own broker, not KRWFEED_KAFKA_BOOTSTRAP's")
    pid_before = broker.pid()
    assert pid_before is not None

    again = broker.run("start", timeout=60)
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert broker.pid() == pid_before

    status = broker.run("status")
    assert status.returncode == 0
    assert status.stdout.startswith("running") and f"pid={pid_before}" in status.stdout
    assert f"bootstrap=127.0.0.1:{broker.port}" in status.stdout
    # The default topics exist with six partitions each.
    meta = kcat(broker.bootstrap, "-L", "-J")
    topics = {t["topic"]: len(t["partitions"]) for t in json.loads(meta)["topics"]}
    for name in ("market.upbit.trade", "market.upbit.orderbook", "market.bithumb.trade",
                 "market.bithumb.orderbook", "market.upbit.events", "market.bithumb.events"):
        assert topics.get(name) == 6


def test_status_of_a_port_without_broker_says_stopped() -> None:
    # No broker of ours ever runs on this port: no pid file, so "stopped" and exit 1.
    status = LocalBroker(65431).run("status")
    assert status.returncode == 1
    assert status.stdout.strip() == "stopped"


@pytest.mark.faults
def test_kill_and_restart_keeps_acknowledged_records(
    kafka_control: KafkaControl, kafka_topic_factory: Callable[..., str]
) -> None:
    topic = kafka_topic_factory("killed", partitions=3)
    producer = project_producer(kafka_control.bootstrap)
    try:
        acked = {}
        for i in range(30):
            meta = producer.send(topic, key=f"KRW-K{i % 5}".encode(), value=f"v{i}".encode()).get(timeout=10)
            acked[(meta.partition, meta.offset)] = f"v{i}".encode()
    finally:
        producer.close(timeout=5)
    pid_before = kafka_control.pid()

    kafka_control.kill()
    assert not kafka_control.is_running()
    kafka_control.start()
    assert kafka_control.is_running()
    assert kafka_control.pid() not in (None, pid_before)

    # SIGKILL skips the clean shutdown; the acknowledged records are still in the log.
    back = {(r.partition, r.offset): r.value for r in read_all(kafka_control.bootstrap, topic, 30)}
    assert back == acked


@pytest.mark.faults
def test_pause_stalls_the_broker_and_resume_brings_it_back(
    kafka_control: KafkaControl, kafka_topic_factory: Callable[..., str]
) -> None:
    topic = kafka_topic_factory("paused", partitions=1)
    kafka_control.pause()
    try:
        assert "paused" in kafka_control.broker.run("status").stdout
        # A stalled broker keeps its port open but answers nothing: metadata times out.
        exe = shutil.which("kcat")
        if exe is not None:
            stalled = subprocess.run([exe, "-b", kafka_control.bootstrap, "-L", "-m", "2"],
                                     capture_output=True, timeout=KCAT_TIMEOUT_S, check=False)
            assert stalled.returncode != 0
    finally:
        kafka_control.resume()
    producer = project_producer(kafka_control.bootstrap)
    try:
        meta = producer.send(topic, key=b"KRW-BTC", value=b"after-resume").get(timeout=10)
    finally:
        producer.close(timeout=5)
    assert [r.value for r in read_all(kafka_control.bootstrap, topic, 30)] == [b"after-resume"]
    assert meta.offset == 0
