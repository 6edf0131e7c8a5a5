"""Buffer and producer actors in a real multiprocTCPBase actor system, publishing to the real broker."""
from __future__ import annotations

import os
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from thespian.actors import Actor, ActorSystem

from actors.buffer import BufferActor
from actors.producer import ProducerActor
from actors.record_channel import (
    RECORDS,
    ChannelEnd,
    decode_records,
    encode_credit,
    encode_frame,
    encode_records,
)
from domain.market_data import MarketDataMessage
from domain.settings import BufferSettings, KafkaSettings
from messages import (
    BufferDrained,
    BufferStats,
    DrainBuffer,
    FatalError,
    FlushProducer,
    ProducerFlushed,
    PublishReport,
    StartBuffer,
    StartProducer,
)
from tests.integration.test_publisher_kafka import (
    bootstrap,  # noqa: F401  (a fixture, used by name)
    consume,
    create_topics,
    free_port,
    unique_template,
)
from tests.support.actor_systems import actor_system

pytestmark = pytest.mark.integration

_PORTS = count(19700 + (int(time.time()) % 10) * 10)  # distinct admin ports within 19700-19799
CODES = tuple(f"KRW-C{i:02d}" for i in range(10))


def feed(path: str, records: tuple[MarketDataMessage, ...], batch: int = 100) -> None:
    """Plays a connector: writes records to the buffer's record channel in batches."""
    end = connect(path, "connector:test-0")
    for start in range(0, len(records), batch):
        assert end.write_all(encode_records(records[start:start + batch]))
    assert end.flush_blocking(10.0)
    end.close()


def connect(path: str, role: str, timeout_s: float = 10.0) -> ChannelEnd:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return ChannelEnd.connect(path, role)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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
def channel_path() -> str:
    return os.path.join(tempfile.mkdtemp(prefix="krwfeed-test-"), "records.sock")


@pytest.fixture
def asys() -> Iterator[ActorSystem]:
    with actor_system(next(_PORTS)) as system:
        yield system


def records(n_trades: int, n_books: int) -> tuple[MarketDataMessage, ...]:
    now = time.time_ns() // 1000
    out: list[MarketDataMessage] = []
    for i in range(max(n_trades, n_books)):
        code = CODES[i % len(CODES)]
        if i < n_trades:
            out.append(MarketDataMessage("upbit", "trade", code, f"t|{code}|{i + 1}".encode(), now, i + 1))
        if i < n_books:
            out.append(MarketDataMessage("bithumb", "orderbook", code, f"b|{code}|{i}".encode(), now, 0))
    return tuple(out)


def start_pipeline(
    asys: ActorSystem, kafka: KafkaSettings, buffer_settings: BufferSettings, path: str
) -> tuple[Any, Any, dict[str, Any]]:
    collector = asys.createActor(Collector)
    buffer = asys.createActor(BufferActor)
    asys.tell(buffer, StartBuffer(buffer_settings, collector, path, stats_interval_s=0.2))
    producers = {}
    for data_type in ("trade", "orderbook"):
        producers[data_type] = asys.createActor(ProducerActor)
        asys.tell(producers[data_type], StartProducer(data_type, kafka, path, collector))
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


def test_S2_6_f_actors_move_thousands_of_records_into_kafka(
        asys: ActorSystem, bootstrap: str, channel_path: str) -> None:  # noqa: F811
    kafka = KafkaSettings(bootstrap_servers=(bootstrap,), topic_template=unique_template("actors"))
    topics = {dt: kafka.topic_for(ex, dt) for ex, dt in (("upbit", "trade"), ("bithumb", "orderbook"))}
    create_topics(bootstrap, list(topics.values()))
    collector, buffer, _ = start_pipeline(asys, kafka, BufferSettings(ttl_s={"trade": 60.0, "orderbook": 60.0}),
                                          channel_path)
    sent = records(3000, 1000)
    feed(channel_path, sent)

    trades = consume(bootstrap, topics["trade"], 3000)
    books = consume(bootstrap, topics["orderbook"], 1000)
    assert Counter(m.value for m in trades) == Counter(r.raw_data for r in sent if r.data_type == "trade")
    assert Counter(m.value for m in books) == Counter(r.raw_data for r in sent if r.data_type == "orderbook")
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


def test_S2_6_a_stale_records_expire_in_the_buffer_and_are_reported(
        asys: ActorSystem, bootstrap: str, channel_path: str) -> None:  # noqa: F811
    # no producers: records sit in the buffer until the TTL drops them
    collector = asys.createActor(Collector)
    buffer = asys.createActor(BufferActor)
    asys.tell(buffer, StartBuffer(BufferSettings(ttl_s={"trade": 0.2, "orderbook": 0.2}), collector, channel_path,
                                  0.1))
    feed(channel_path, records(300, 100))
    final = wait_status(asys, collector, lambda s: s["stats"] is not None
                        and s["stats"].dropped.get("expired:trade") == 300, 10)
    assert final["stats"].dropped == {"expired:trade": 300, "expired:orderbook": 100}
    assert final["stats"].depth == {"orderbook": 0, "trade": 0}


def test_S3_1_e_consecutive_publish_failures_send_fatal_error(asys: ActorSystem, channel_path: str) -> None:
    # a short outage bound keeps the test short: 3 failed attempts spread over 1 s
    kafka = KafkaSettings(bootstrap_servers=(f"127.0.0.1:{free_port()}",), max_block_ms=200,
                          max_consecutive_failures=3, max_outage_s=1.0, pull_batch_size=50)
    collector, buffer, _ = start_pipeline(asys, kafka, BufferSettings(ttl_s={"trade": 60.0, "orderbook": 60.0}),
                                          channel_path)
    # a live feed keeps failing through the outage: records keep coming until the bound is reached
    deadline, batch = time.monotonic() + 20, 0
    while not status(asys, collector)["fatal"] and time.monotonic() < deadline:
        now = time.time_ns() // 1000
        feed(channel_path, tuple(MarketDataMessage("upbit", "trade", CODES[i % len(CODES)], b"t", now, batch * 50 + i + 1)
                                 for i in range(50)))  # new trade ids each time: not duplicates
        batch += 1
        time.sleep(0.1)
    final = wait_status(asys, collector, lambda s: s["fatal"], 5)
    assert len(final["fatal"]) == 1 and "3 consecutive Kafka publish failures for trade" in final["fatal"][0]
    assert "broker unreachable for" in final["fatal"][0]  # nothing listens on that port
    report = final["reports"]["trade"]
    assert report.consecutive_failures >= 3 and report.failed >= 150 and report.succeeded == 0


def test_drain_then_flush_puts_everything_buffered_into_kafka(
        asys: ActorSystem, bootstrap: str, channel_path: str) -> None:  # noqa: F811
    kafka = KafkaSettings(bootstrap_servers=(bootstrap,), topic_template=unique_template("drain"))
    topic = kafka.topic_for("upbit", "trade")
    create_topics(bootstrap, [topic, kafka.topic_for("bithumb", "orderbook")])
    collector, buffer, producers = start_pipeline(asys, kafka, BufferSettings(), channel_path)
    feed(channel_path, records(2000, 0), batch=500)
    drained = asys.ask(buffer, DrainBuffer(), 10)
    assert isinstance(drained, BufferDrained) and drained.left == 0
    flushed = asys.ask(producers["trade"], FlushProducer(timeout_s=5.0), 10)
    assert isinstance(flushed, ProducerFlushed) and flushed == ProducerFlushed("trade", 0)
    assert len(consume(bootstrap, topic, 2000)) == 2000


def test_S2_6_e_a_producer_gets_at_most_its_credit_in_arrival_order(asys: ActorSystem, channel_path: str) -> None:
    buffer = asys.createActor(BufferActor)
    asys.tell(buffer, StartBuffer(BufferSettings(ttl_s={"trade": 60.0}), None, channel_path))
    producer = connect(channel_path, "producer:trade")  # the test plays the trade producer
    feed(channel_path, records(250, 0))

    def receive(n: int) -> list[MarketDataMessage]:
        got: list[MarketDataMessage] = []
        deadline = time.monotonic() + 5
        while len(got) < n and time.monotonic() < deadline:
            got.extend(r for kind, body in producer.read() if kind == RECORDS for r in decode_records(body))
            time.sleep(0.02)
        return got

    time.sleep(0.3)
    assert receive(1) == []  # no credit granted yet: nothing is sent
    assert producer.write(encode_credit(100))
    first = receive(100)
    time.sleep(0.3)
    first += receive(1)  # nothing beyond the credit
    assert [r.sequential_id for r in first] == list(range(1, 101))
    assert producer.write(encode_credit(500))
    rest = receive(150)
    assert [r.sequential_id for r in rest] == list(range(101, 251))
    producer.close()


def test_a_peer_sending_a_malformed_records_frame_is_closed_and_the_buffer_keeps_going(
        asys: ActorSystem, channel_path: str) -> None:
    buffer = asys.createActor(BufferActor)
    asys.tell(buffer, StartBuffer(BufferSettings(ttl_s={"trade": 60.0}), None, channel_path))
    producer = connect(channel_path, "producer:trade")  # the test plays the trade producer
    bad = connect(channel_path, "connector:bad-0")
    assert bad.write_all(encode_records(records(5, 0)))
    assert bad.write(encode_frame(RECORDS, b"\x01\x02\x03"))  # a frame whose body is no record
    assert bad.flush_blocking(5.0)
    deadline = time.monotonic() + 5
    while not bad.closed and time.monotonic() < deadline:
        bad.read()  # the buffer closes its end: this one sees the close
        time.sleep(0.05)
    assert bad.closed
    feed(channel_path, tuple(r for r in records(10, 0))[5:])  # a healthy connector afterwards
    assert producer.write(encode_credit(100))
    got: list[MarketDataMessage] = []
    deadline = time.monotonic() + 5
    while len(got) < 10 and time.monotonic() < deadline:
        got.extend(r for kind, body in producer.read() if kind == RECORDS for r in decode_records(body))
        time.sleep(0.02)
    # what the bad peer sent before its bad frame is kept; the buffer served the healthy one after it
    assert [r.sequential_id for r in got] == list(range(1, 11))
    producer.close()


def test_S2_6_b_at_capacity_orderbooks_are_kept_before_trades_and_the_trades_dropped_for_them_are_counted(
        asys: ActorSystem, bootstrap: str, channel_path: str) -> None:  # noqa: F811
    """Each producer pulls its own data type on its own credit, so the two types compete in the
    buffer's capacity: a burst that fills it while the producers are not yet taking anything (a
    broker slow to start, a restarting producer) keeps every orderbook and drops the oldest trades."""
    kafka = KafkaSettings(bootstrap_servers=(bootstrap,), topic_template=unique_template("priority"))
    topics = {dt: kafka.topic_for(ex, dt) for ex, dt in (("upbit", "trade"), ("bithumb", "orderbook"))}
    create_topics(bootstrap, list(topics.values()))
    collector = asys.createActor(Collector)
    buffer = asys.createActor(BufferActor)
    asys.tell(buffer, StartBuffer(BufferSettings(capacity=100, ttl_s={"trade": 60.0, "orderbook": 60.0}), collector,
                                  channel_path, stats_interval_s=0.1))
    now = time.time_ns() // 1000
    trades = tuple(MarketDataMessage("upbit", "trade", CODES[i % len(CODES)], f"t|{i + 1}".encode(), now, i + 1)
                   for i in range(120))
    books = tuple(MarketDataMessage("bithumb", "orderbook", f"KRW-B{i:02d}", f"b|{i}".encode(), now, 0)
                  for i in range(30))
    # 100 trades fill the buffer, 30 books (one per code) arrive, then 20 more trades
    feed(channel_path, trades[:100] + books + trades[100:], batch=50)
    full = wait_status(asys, collector, lambda s: s["stats"] is not None
                       and sum(s["stats"].dropped.values()) >= 50, 10)
    assert full["stats"].dropped == {"overflow:trade": 50}
    assert full["stats"].depth == {"orderbook": 30, "trade": 70}

    for data_type in ("trade", "orderbook"):  # now the producers take what the buffer kept
        asys.tell(asys.createActor(ProducerActor), StartProducer(data_type, kafka, channel_path, collector))
    final = wait_status(asys, collector, lambda s: all(
        s["reports"].get(dt) is not None and s["reports"][dt].succeeded >= n
        for dt, n in (("trade", 70), ("orderbook", 30))), 30)
    assert (final["reports"]["orderbook"].succeeded, final["reports"]["trade"].succeeded) == (30, 70)
    in_kafka_books = Counter(m.value for m in consume(bootstrap, topics["orderbook"], 30))
    in_kafka_trades = Counter(m.value for m in consume(bootstrap, topics["trade"], 70))
    assert in_kafka_books == Counter(r.raw_data for r in books)  # every orderbook kept
    assert in_kafka_trades == Counter(r.raw_data for r in trades[50:])  # the 50 oldest trades made room
    assert final["stats"].dropped == {"overflow:trade": 50} and final["fatal"] == []
