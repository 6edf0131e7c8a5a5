"""Reads every record of a topic back from the real broker (kafka-python consumer, no group)."""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic, OffsetSpec

from tests.e2e.service_process import REPO_ROOT


@dataclass(frozen=True, slots=True)
class Read:
    partition: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


def create_topics(bootstrap: str, topics: list[str], partitions: int = 6) -> None:
    """Create the topics and wait until every partition has a leader, so the service's first sends
    (request_timeout_ms=500, retries=0) do not race the broker's partition set-up."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="krwfeed-e2e")
    try:
        admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described = admin.describe_topics(topics)
            if all(len(d.get("partitions", [])) == partitions and
                   all(p.get("leader_id", -1) >= 0 for p in d["partitions"]) for d in described):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"topics without a leader on every partition after 30 s: {topics}")
        # Metadata can name a leader a moment before it serves the partition; ListOffsets is answered
        # by the leader itself and is retried until it does.
        admin.list_partition_offsets({TopicPartition(t, p): OffsetSpec.LATEST for t in topics for p in range(partitions)},
                                     timeout_ms=10_000)
    finally:
        admin.close()


def read_topic(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[Read]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             client_id="krwfeed-e2e-reader")
    try:
        deadline = time.monotonic() + timeout_s
        partitions = None
        while partitions is None and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                time.sleep(0.2)
        if not partitions:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[Read] = []
        while time.monotonic() < deadline and any(consumer.position(tp) < end[tp] for tp in tps):
            for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
                out += [Read(tp.partition, r.key, r.value, dict(r.headers or [])) for r in records]
        return out
    finally:
        consumer.close()


def kafka_control(port: int, action: str) -> None:
    """``scripts/kafka.sh <action>`` for the broker on ``port`` (pause, resume, stop, start)."""
    subprocess.run([str(REPO_ROOT / "scripts/kafka.sh"), action], cwd=REPO_ROOT, check=True,
                   env={**os.environ, "KAFKA_PORT": str(port)}, timeout=120,
                   capture_output=True)
