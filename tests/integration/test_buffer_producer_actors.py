"""Buffer and producer actors in a real multiprocTCPBase actor system, publishing to the real broker."""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from thespian.actors import Actor, ActorSystem

from actors.buffer import BufferActor
from actors.producer import ProducerActor
from messages.protocol import (
    BufferDrained,
    BufferStats,
    DrainBuffer,
    FatalError,
    FlushProducer,
    ProducerFlushed,
    PublishReport,
    PulledRecords,
    PullRecords,
    RecordBatch,
    StartBuffer,
    StartProducer,
)
from messages.records import EncodedRecord
from messages.settings import BufferSettings, KafkaSettings
from tests.integration.test_publisher_kafka import (
    bootstrap,  # noqa: F401  (a fixture, used by name)
    consume,
    create_topics,
    free_port,
    unique_template,
)

pytestmark = pytest.mark.integration

_PORTS = count(19700 + (int(time.time()) % 10) * 10)  # distinct admin ports within 19700-19799
CODES = tuple(f"KRW-C{i:02d}" for i in range(10))


@dataclass(frozen=True)
class Feed:
    buffer: Any
    records: tuple[EncodedRecord, ...]
    batch: int = 100


class Feeder(Actor):
    """Plays the connectors: sends records to the buffer in batches."""

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, Feed):
            for start in range(0, len(msg.records), msg.batch):
                self.send(msg.buffer, RecordBatch(msg.records[start:start + msg.batch]))
            self.send(sender, "fed")


class Collector(Actor):
    """Plays the supervisor: keeps the latest reports and answers "status"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reports: dict[str, PublishReport] = {}
        self.stats: BufferStats | None = None
        self.stats_seen = 0
        self.fatal: list[str] = []

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, PublishReport):
            self.reports[msg.data_type] = msg
        elif isinstance(msg, BufferStats):
            self.stats, self.stats_seen = msg, self.stats_seen + 1
        elif isinstance(msg, FatalError):
            self.fatal.append(msg.reason)
        elif msg == "status":
            self.send(sender, {"reports": dict(self.reports), "stats": self.stats,
                               "stats_seen": self.stats_seen, "fatal": list(self.fatal)})


@pytest.fixture
def asys() -> Iterator[ActorSystem]:
    system = ActorSystem("multiprocTCPBase", {"Admin Port": next(_PORTS)}, transientUnique=True)
    try:
        yield system
    finally:
        system.shutdown()


def records(n_trades: int, n_books: int) -> tuple[EncodedRecord, ...]:
    now = time.time_ns() // 1000
    out: list[EncodedRecord] = []
    for i in range(max(n_trades, n_books)):
        code = CODES[i % len(CODES)]
        if i < n_trades:
            out.append(EncodedRecord("upbit", "trade", code, f"t|{code}|{i + 1}".encode(), now, i + 1))
        if i < n_books:
            out.append(EncodedRecord("bithumb", "orderbook", code, f"b|{code}|{i}".encode(), now, 0))
    return tuple(out)


def start_pipeline(
    asys: ActorSystem, kafka: KafkaSettings, buffer_settings: BufferSettings
) -> tuple[Any, Any, dict[str, Any]]:
    collector = asys.createActor(Collector)
    buffer = asys.createActor(BufferActor)
    asys.tell(buffer, StartBuffer(buffer_settings, collector, stats_interval_s=0.2))
    producers = {}
    for data_type in ("trade", "orderbook"):
        producers[data_type] = asys.createActor(ProducerActor)
        asys.tell(producers[data_type], StartProducer(data_type, kafka, buffer, collector))
    return collector, buffer, producers


def status(asys: ActorSystem, collector: Any) -> dict[str, Any]:
    answer = asys.ask(collector, "status", 5)
    assert isinstance(answer, dict)
    return answer


def wait_status(asys: ActorSystem, collector: Any, predicate: Any, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    current = status(asys, collector)
    while not predicate(current) and time.monotonic() < deadline:
        time.sleep(0.1)
        current = status(asys, collector)
    return current


def test_S2_6_f_actors_move_thousands_of_records_into_kafka(asys: ActorSystem, bootstrap: str) -> None:  # noqa: F811
    kafka = KafkaSettings(bootstrap_servers=(bootstrap,), topic_template=unique_template("actors"))
    topics = {dt: kafka.topic_for(ex, dt) for ex, dt in (("upbit", "trade"), ("bithumb", "orderbook"))}
    create_topics(bootstrap, list(topics.values()))
    collector, buffer, _ = start_pipeline(asys, kafka, BufferSettings(ttl_s={"trade": 60.0, "orderbook": 60.0}))
    sent = records(3000, 1000)
    feeder = asys.createActor(Feeder)
    assert asys.ask(feeder, Feed(buffer, sent), 30) == "fed"

    trades = consume(bootstrap, topics["trade"], 3000)
    books = consume(bootstrap, topics["orderbook"], 1000)
    assert Counter(m.value for m in trades) == Counter(r.payload for r in sent if r.data_type == "trade")
    assert Counter(m.value for m in books) == Counter(r.payload for r in sent if r.data_type == "orderbook")
    per_code: dict[bytes, list[int]] = defaultdict(list)
    partitions: dict[bytes, set[int]] = defaultdict(set)
    for m in sorted(trades, key=lambda m: (m.partition, m.offset)):
        per_code[m.key].append(int(m.value.split(b"|")[2]))
        partitions[m.key].add(m.partition)
    assert all(seqs == sorted(seqs) for seqs in per_code.values())
    assert all(len(p) == 1 for p in partitions.values())

    final = wait_status(asys, collector, lambda s: s["reports"].get("trade") is not None
                        and s["reports"]["trade"].succeeded == 3000
                        and s["reports"].get("orderbook") is not None
                        and s["reports"]["orderbook"].succeeded == 1000, 10)
    assert final["reports"]["trade"].failed == 0 and final["fatal"] == []
    assert final["stats_seen"] > 0 and final["stats"].depth == {"orderbook": 0, "trade": 0}


def test_S2_6_a_stale_records_expire_in_the_buffer_and_are_reported(asys: ActorSystem, bootstrap: str) -> None:  # noqa: F811
    # no producers: records sit in the buffer until the TTL drops them
    collector = asys.createActor(Collector)
    buffer = asys.createActor(BufferActor)
    asys.tell(buffer, StartBuffer(BufferSettings(ttl_s={"trade": 0.2, "orderbook": 0.2}), collector, 0.1))
    feeder = asys.createActor(Feeder)
    assert asys.ask(feeder, Feed(buffer, records(300, 100)), 10) == "fed"
    final = wait_status(asys, collector, lambda s: s["stats"] is not None
                        and s["stats"].dropped.get("expired:trade") == 300, 10)
    assert final["stats"].dropped == {"expired:trade": 300, "expired:orderbook": 100}
    assert final["stats"].depth == {"orderbook": 0, "trade": 0}


def test_S3_1_e_consecutive_publish_failures_send_fatal_error(asys: ActorSystem) -> None:
    # a short outage bound keeps the test short: 3 failed attempts spread over 1 s
    kafka = KafkaSettings(bootstrap_servers=(f"127.0.0.1:{free_port()}",), max_block_ms=200,
                          max_consecutive_failures=3, max_outage_s=1.0, pull_batch_size=50)
    collector, buffer, _ = start_pipeline(asys, kafka, BufferSettings(ttl_s={"trade": 60.0, "orderbook": 60.0}))
    feeder = asys.createActor(Feeder)
    assert asys.ask(feeder, Feed(buffer, records(500, 0)), 10) == "fed"
    final = wait_status(asys, collector, lambda s: s["fatal"], 20)
    assert len(final["fatal"]) == 1 and "3 consecutive Kafka publish failures for trade" in final["fatal"][0]
    assert "broker unreachable for" in final["fatal"][0]  # nothing listens on that port
    report = final["reports"]["trade"]
    assert report.consecutive_failures >= 3 and report.failed >= 150 and report.succeeded == 0


def test_drain_then_flush_puts_everything_buffered_into_kafka(asys: ActorSystem, bootstrap: str) -> None:  # noqa: F811
    kafka = KafkaSettings(bootstrap_servers=(bootstrap,), topic_template=unique_template("drain"))
    topic = kafka.topic_for("upbit", "trade")
    create_topics(bootstrap, [topic, kafka.topic_for("bithumb", "orderbook")])
    collector, buffer, producers = start_pipeline(asys, kafka, BufferSettings())
    feeder = asys.createActor(Feeder)
    assert asys.ask(feeder, Feed(buffer, records(2000, 0), batch=500), 10) == "fed"
    drained = asys.ask(buffer, DrainBuffer(), 10)
    assert isinstance(drained, BufferDrained) and drained.left == 0
    flushed = asys.ask(producers["trade"], FlushProducer(timeout_s=5.0), 10)
    assert isinstance(flushed, ProducerFlushed) and flushed == ProducerFlushed("trade", 0)
    assert len(consume(bootstrap, topic, 2000)) == 2000


def test_S2_6_e_parked_pull_is_answered_on_arrival_with_at_most_max_items(asys: ActorSystem) -> None:
    buffer = asys.createActor(BufferActor)
    asys.tell(buffer, StartBuffer(BufferSettings(ttl_s={"trade": 60.0}), None))
    assert asys.ask(buffer, PullRecords("trade", 100), 0.3) is None  # nothing queued: parked
    asys.tell(buffer, RecordBatch(records(250, 0)))
    answer = asys.listen(5)
    assert isinstance(answer, PulledRecords)
    assert len(answer.records) == 100 and answer.remaining == 150
    assert [r.sequential_id for r in answer.records] == list(range(1, 101))
    rest = asys.ask(buffer, PullRecords("trade", 500), 5)
    assert isinstance(rest, PulledRecords) and len(rest.records) == 150 and rest.remaining == 0
