"""KafkaPublisher's send and callback logic against an in-memory stand-in for KafkaProducer."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from domain.market_data import MarketDataMessage
from domain.settings import KafkaSettings
from publishers.base import MessagePublisher
from publishers.kafka_publisher import KafkaPublisher

pytestmark = pytest.mark.unit


class FakeFuture:
    """kafka-python's future: ``add_both`` callbacks get the metadata or the exception."""

    def __init__(self) -> None:
        self.callbacks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def add_both(self, fn: Callable[..., Any], *args: Any) -> None:
        self.callbacks.append((fn, args))

    def succeed(self) -> None:
        for fn, args in self.callbacks:
            fn(*args, "metadata")

    def fail(self, exc: Exception) -> None:
        for fn, args in self.callbacks:
            fn(*args, exc)


class FakeProducer:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.sent: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []
        self.futures: list[FakeFuture] = []
        self.raise_on_send: Exception | None = None
        self.raise_on_close: Exception | None = None
        self.closed_with: float | None = None

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> FakeFuture:
        if self.raise_on_send is not None:
            raise self.raise_on_send
        self.sent.append((topic, key, value, headers))
        future = FakeFuture()
        self.futures.append(future)
        return future

    def flush(self, timeout: float) -> None:
        pass

    def close(self, timeout: float) -> None:
        self.closed_with = timeout
        if self.raise_on_close is not None:
            raise self.raise_on_close


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(max_failures: int = 10, clock: Callable[[], float] | None = None,
         max_outage_s: float = 120.0) -> tuple[KafkaPublisher, FakeProducer]:
    holder: dict[str, FakeProducer] = {}

    def factory(**kwargs: Any) -> FakeProducer:
        holder["p"] = FakeProducer(**kwargs)
        return holder["p"]

    settings = KafkaSettings(max_consecutive_failures=max_failures, max_outage_s=max_outage_s)
    publisher = KafkaPublisher(settings, "trade", producer_factory=factory, wall_clock_us=lambda: 2_000_000,
                               monotonic=clock or Clock())
    return publisher, holder["p"]


def trades(n: int, exchange: str = "upbit") -> list[MarketDataMessage]:
    return [MarketDataMessage(exchange, "trade", f"KRW-C{i % 3}", b"p%d" % i, 1_000_000, i + 1) for i in range(n)]


def test_S1_5_kafka_publisher_is_a_message_publisher() -> None:
    publisher, _ = make()
    assert isinstance(publisher, MessagePublisher)


def test_S2_4_b_records_keyed_by_code_with_topic_and_schema_headers() -> None:
    publisher, producer = make()
    assert publisher.publish(trades(2, "bithumb")) == 2
    topic, key, value, headers = producer.sent[1]
    assert (topic, key, value) == ("market.bithumb.trade", b"KRW-C1", b"p1")
    assert dict(headers) == {"schema": b"krwfeed.v1.Trade", "exchange": b"bithumb", "data_type": b"trade"}
    assert producer.kwargs["retries"] == 0 and producer.kwargs["enable_idempotence"] is False
    assert producer.kwargs["reconnect_backoff_max_ms"] == 1000  # a returning broker is found within 1 s
    assert headers is producer.sent[0][3]  # built once per exchange and data type, not per record


def test_callbacks_count_successes_and_failures() -> None:
    publisher, producer = make()
    publisher.publish(trades(4))
    assert publisher.snapshot().in_flight == 4
    for f in producer.futures[:3]:
        f.succeed()
    producer.futures[3].fail(RuntimeError("boom"))
    snap = publisher.snapshot()
    assert (snap.succeeded, snap.failed, snap.in_flight, snap.consecutive_failures) == (3, 1, 0, 1)
    assert "RuntimeError on market.upbit.trade: boom" in snap.last_error


def test_S2_4_c_failures_logged_with_context(caplog: pytest.LogCaptureFixture) -> None:
    publisher, producer = make()
    publisher.publish(trades(2))
    with caplog.at_level(logging.WARNING, logger="krwfeed.publisher"):
        producer.futures[0].fail(TimeoutError("Expiring 2 record(s)"))
        producer.futures[1].fail(TimeoutError("Expiring 2 record(s)"))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "failed for 2 of 2 records" in lines[0]
    assert "upbit:KRW-C0#1" in lines[0] and "upbit:KRW-C1#2" in lines[0]
    assert "TimeoutError on market.upbit.trade: Expiring 2 record(s)" in lines[0]


def test_S3_1_e_synchronous_send_error_fails_the_rest_of_the_batch_once() -> None:
    clock = Clock()
    publisher, producer = make(max_failures=2, clock=clock, max_outage_s=10.0)
    producer.raise_on_send = TimeoutError("Failed to update metadata after 2.0 secs.")
    assert publisher.publish(trades(5)) == 0
    snap = publisher.snapshot()
    assert (snap.failed, snap.consecutive_failures, snap.in_flight, snap.fatal) == (5, 1, 0, False)
    assert snap.cause == "timed out"
    publisher.publish(trades(5))  # the same moment: the same attempt
    assert not publisher.snapshot().fatal
    clock.now += 10.0
    publisher.publish(trades(5))
    assert publisher.snapshot().fatal and publisher.snapshot().failed == 15


def test_S3_1_h_success_after_failures_resets_consecutive() -> None:
    clock = Clock()
    publisher, producer = make(clock=clock)
    for _ in range(3):
        publisher.publish(trades(1))
        producer.futures[-1].fail(ConnectionError("reset"))
        clock.now += 1.0
    assert publisher.snapshot().consecutive_failures == 3
    publisher.publish(trades(1))
    producer.futures[-1].succeed()
    assert publisher.snapshot().consecutive_failures == 0


def test_close_swallows_the_client_raising() -> None:
    publisher, producer = make()
    producer.raise_on_close = TimeoutError("Timeout after waiting for 1.0 secs.")
    publisher.close(1.0)  # must not raise
    assert producer.closed_with == 1.0
    publisher.close(1.0)  # second close is a no-op


def test_empty_publish_does_nothing() -> None:
    publisher, producer = make()
    assert publisher.publish([]) == 0 and producer.sent == []


def test_a_topic_whose_send_just_failed_fails_at_once_instead_of_blocking_again() -> None:
    clock = Clock()
    publisher, producer = make(clock=clock)
    calls = []
    real_send = producer.send

    def counting_send(topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> FakeFuture:
        calls.append(topic)
        return real_send(topic, key, value, headers)

    producer.send = counting_send  # type: ignore[method-assign]
    producer.raise_on_send = TimeoutError("Failed to update metadata after 3.0 secs.")
    publisher.publish(trades(5))
    publisher.publish(trades(5))  # within the retry window: no send() is attempted, all fail, counted
    assert len(calls) == 1 and publisher.snapshot().failed == 10
    producer.raise_on_send = None
    clock.now += 5.0  # the window has passed: the topic is tried again
    assert publisher.publish(trades(3)) == 3 and len(calls) == 4


def test_records_the_client_never_resolves_are_counted_failed_after_its_deadline_plus_a_margin(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # After a broker SIGKILL kafka-python was once seen holding records far past its delivery
    # timeout with no callback: the publisher's tick must count them rather than wait for ever.
    clock = Clock()
    publisher, producer = make(clock=clock)
    publisher.publish(trades(5))
    producer.futures[0].succeed()
    deadline = (3000 + 500) / 1000 + 10.0  # delivery timeout + request timeout + margin, shipped defaults
    clock.now += deadline - 0.1
    publisher.poll()
    assert publisher.snapshot().in_flight == 4 and publisher.snapshot().failed == 0
    clock.now += 0.2
    with caplog.at_level(logging.WARNING, logger="krwfeed.publisher"):
        publisher.poll()
    snap = publisher.snapshot()
    assert (snap.succeeded, snap.failed, snap.in_flight) == (1, 4, 0)
    assert snap.last_error.startswith("Unresolved") and snap.cause == "timed out"
    assert any("4 records had no outcome from the client after 13.5 s" in r.getMessage() for r in caplog.records)
    for future in producer.futures[1:]:
        future.succeed()  # a late outcome changes nothing
    publisher.poll()
    assert publisher.snapshot().succeeded == 1 and publisher.snapshot().failed == 4
