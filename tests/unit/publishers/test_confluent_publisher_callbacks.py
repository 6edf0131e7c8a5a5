"""ConfluentPublisher's produce, poll and callback logic against an in-memory stand-in for librdkafka's
Producer: callbacks run only when polled, a full queue raises BufferError, errors carry codes."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.market_data import MarketDataMessage
from domain.settings import KafkaSettings
from publishers.base import MessagePublisher
from publishers.confluent_publisher import ConfluentPublisher

pytestmark = pytest.mark.unit


class FakeError:
    def __init__(self, name: str, text: str) -> None:
        self._name, self._text = name, text

    def name(self) -> str:
        return self._name

    def str(self) -> str:
        return self._text


class FakeProducer:
    def __init__(self, config: dict[str, Any], capacity: int = 1000) -> None:
        self.config = config
        self.capacity = capacity
        self.queued: list[tuple[str, bytes, bytes, Any, Callable[..., Any]]] = []
        self.ready: list[tuple[Callable[..., Any], FakeError | None]] = []  # served by the next poll
        self.polls = 0
        self.purged = False

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any, on_delivery: Callable[..., Any]) -> None:
        if len(self.queued) >= self.capacity:
            raise BufferError("Local: Queue full")
        self.queued.append((topic, key, value, headers, on_delivery))

    def poll(self, timeout: float) -> int:
        self.polls += 1
        served, self.ready = self.ready, []
        for callback, err in served:
            callback(err, None)
        return len(served)

    def flush(self, timeout: float) -> int:
        self.poll(0)
        return len(self.queued)

    def purge(self) -> None:
        self.purged = True
        self.resolve(len(self.queued), FakeError("_PURGE_QUEUE", "Local: Purged in queue"))

    def resolve(self, n: int, err: FakeError | None = None) -> None:
        """The broker answered for the first ``n`` queued records (reported on the next poll)."""
        done, self.queued = self.queued[:n], self.queued[n:]
        self.ready.extend((entry[4], err) for entry in done)


def make(capacity: int = 1000, **settings: Any) -> tuple[ConfluentPublisher, FakeProducer]:
    holder: dict[str, FakeProducer] = {}

    def factory(config: dict[str, Any]) -> FakeProducer:
        holder["p"] = FakeProducer(config, capacity)
        return holder["p"]

    publisher = ConfluentPublisher(KafkaSettings(client="confluent-kafka", **settings), "trade",
                                   producer_factory=factory, wall_clock_us=lambda: 2_000_000)
    return publisher, holder["p"]


def trades(n: int, exchange: str = "upbit") -> list[MarketDataMessage]:
    return [MarketDataMessage(exchange, "trade", f"KRW-C{i % 3}", b"p%d" % i, 1_000_000, i + 1) for i in range(n)]


def test_S1_5_confluent_publisher_is_a_message_publisher() -> None:
    assert isinstance(make()[0], MessagePublisher)


def test_S2_4_a_b_seed_settings_keys_topics_and_headers_as_the_other_client() -> None:
    publisher, producer = make()
    assert publisher.publish(trades(2, "bithumb")) == 2
    topic, key, value, headers, _ = producer.queued[1]
    assert (topic, key, value) == ("market.bithumb.trade", b"KRW-C1", b"p1")
    assert dict(headers) == {"schema": b"krwfeed.v1.Trade", "exchange": b"bithumb", "data_type": b"trade"}
    assert headers is producer.queued[0][3]  # built once per exchange and data type
    c = producer.config
    assert (c["linger.ms"], c["acks"], c["batch.size"], c["compression.type"]) == (5, "all", 16384, "lz4")
    assert (c["max.in.flight.requests.per.connection"], c["retries"], c["request.timeout.ms"]) == (5, 0, 500)
    assert c["client.id"] == "data-ingestion-connector" and callable(c["error_cb"])


def test_outcomes_are_counted_only_when_polled() -> None:
    publisher, producer = make()
    publisher.publish(trades(4))
    producer.resolve(3)
    producer.resolve(1, FakeError("_MSG_TIMED_OUT", "Local: Message timed out"))
    assert publisher.snapshot().in_flight == 4  # nothing served yet: the callbacks wait for poll
    publisher.poll()
    snap = publisher.snapshot()
    assert (snap.succeeded, snap.failed, snap.in_flight, snap.consecutive_failures) == (3, 1, 0, 1)
    assert snap.cause == "timed out" and "_MSG_TIMED_OUT on market.upbit.trade" in snap.last_error


def test_S3_3_c_a_timeout_while_the_brokers_are_down_is_named_unreachable() -> None:
    publisher, producer = make()
    producer.config["error_cb"](FakeError("_ALL_BROKERS_DOWN", "1/1 brokers are down"))
    publisher.publish(trades(1))
    producer.resolve(1, FakeError("_MSG_TIMED_OUT", "Local: Message timed out"))
    publisher.poll()
    assert publisher.snapshot().cause == "broker unreachable"


def test_a_full_queue_is_served_then_retried_and_what_still_does_not_fit_is_counted() -> None:
    publisher, producer = make(capacity=3)
    assert publisher.publish(trades(3)) == 3
    producer.resolve(2)  # the next poll frees two places
    assert publisher.publish(trades(5)) == 2  # 2 fit after the poll, the other 3 fail at once
    snap = publisher.snapshot()
    assert (snap.succeeded, snap.failed, snap.in_flight) == (2, 3, 3)
    assert snap.cause == "client queue full" and "BufferError" in snap.last_error


def test_close_purges_what_is_left_and_counts_it() -> None:
    publisher, producer = make()
    publisher.publish(trades(5))
    publisher.close(0.1)
    snap = publisher.snapshot()
    assert producer.purged and (snap.failed, snap.in_flight) == (5, 0)
    publisher.close(0.1)  # a second close is a no-op


def test_records_without_a_delivery_report_past_the_deadline_are_counted_failed_by_the_tick() -> None:
    now = [50.0]
    holder: dict[str, FakeProducer] = {}

    def factory(config: dict[str, Any]) -> FakeProducer:
        holder["p"] = FakeProducer(config)
        return holder["p"]

    settings = KafkaSettings(client="confluent-kafka", delivery="at_least_once")
    publisher = ConfluentPublisher(settings, "trade", producer_factory=factory, monotonic=lambda: now[0])
    publisher.publish(trades(3))
    now[0] += 300.0 + 0.5 + 10.0 - 0.1  # at_least_once: a 300 s delivery timeout, + request timeout + margin
    publisher.poll()
    assert publisher.snapshot().in_flight == 3
    now[0] += 0.2
    publisher.poll()
    snap = publisher.snapshot()
    assert (snap.failed, snap.in_flight) == (3, 0) and snap.last_error.startswith("Unresolved")
    holder["p"].resolve(3)  # the reports come after all: nothing changes
    publisher.poll()
    assert (publisher.snapshot().succeeded, publisher.snapshot().failed) == (0, 3)
