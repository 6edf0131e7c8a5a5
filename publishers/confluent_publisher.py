"""``MessagePublisher`` over confluent-kafka (librdkafka), chosen with ``kafka.client: confluent-kafka``.

The same keys, topics, headers, accounting, fatal rule and failure logging as the kafka-python
publisher (all ``DeliveryBook``'s); only the client differs. librdkafka does its batching,
compression and network I/O on its own C threads, and hands the outcomes back only when the
owner calls ``poll()``: ``publish()`` polls once per call without waiting and the producer actor's
tick polls too, so delivery callbacks (and the client's error callback) run on the actor's thread
and never block it.

``produce()`` never waits either. When librdkafka's queue is full it raises ``BufferError`` at
once: the publisher serves the callbacks that free room and tries once more, and a record that
still does not fit is counted as a failure (cause "client queue full"), never dropped silently.
The producer actor's in-flight cap keeps that rare: it stays far below the queue's size.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from domain.market_data import MarketDataMessage
from domain.settings import KafkaSettings
from publishers.base import MessagePublisher
from publishers.delivery import DeliveryBook, Headers, Refusal, publisher_log
from publishers.kafka_config import describe, librdkafka_config
from publishers.publish_tracker import (
    CAUSE_AUTHENTICATION,
    CAUSE_QUEUE_FULL,
    CAUSE_TIMEOUT,
    CAUSE_UNREACHABLE,
    PublishAttempt,
    TrackerSnapshot,
    failure_cause,
)

_PURGE_POLLS = 20  # at most 1 s serving purged records' reports at close


def load_client() -> None:
    """Imports confluent_kafka (see ``publishers.factory.preload_client``)."""
    import confluent_kafka  # noqa: F401


def _default_factory(config: dict[str, Any]) -> Any:
    from confluent_kafka import Producer

    return Producer(config)


def _error_parts(err: Any) -> tuple[str, str]:
    """(name, text) of a ``KafkaError``, or of any other exception."""
    kafka_error = err.args[0] if getattr(err, "args", None) and hasattr(err.args[0], "name") else err
    if hasattr(kafka_error, "name") and callable(kafka_error.name):
        return str(kafka_error.name()), str(kafka_error.str())
    return type(err).__name__, str(err)


class ConfluentPublisher(MessagePublisher):
    def __init__(
        self,
        settings: KafkaSettings,
        data_type: str,
        producer_factory: Callable[[dict[str, Any]], Any] | None = None,
        **book_args: Any,
    ) -> None:
        self.settings = settings
        self.data_type = data_type
        self._book = DeliveryBook(settings, data_type, **book_args)
        config = librdkafka_config(settings)
        publisher_log().info("kafka producer (confluent-kafka) for %s: %s", data_type, describe(config))
        # librdkafka's own log lines go through Python logging (served by poll) instead of stderr
        config["logger"] = logging.getLogger("krwfeed.librdkafka")
        config["error_cb"] = self._on_client_error
        self._client_cause = ""  # what the client's error callback last said about the brokers
        self._producer = (producer_factory or _default_factory)(config)
        self._closed = False

    # --- MessagePublisher -----------------------------------------------------------------
    def publish(self, records: Sequence[MarketDataMessage]) -> int:
        if not records:
            return 0
        handed = self._book.hand_over(records, self._produce_one)
        self._producer.poll(0)
        self._book.observe_handed(records[:handed] if handed < len(records) else records)
        return handed

    def _produce_one(self, attempt: PublishAttempt, record: MarketDataMessage, topic: str, headers: Headers,
                     sent_at: float) -> Refusal | None:
        callback = partial(self._on_delivery, attempt, record, sent_at)
        produce = self._producer.produce
        key = self._book.key(record)
        try:
            try:
                produce(topic, record.raw_data, key, headers=headers, on_delivery=callback)
            except BufferError:
                self._producer.poll(0)  # serve delivery reports, which frees queue room
                produce(topic, record.raw_data, key, headers=headers, on_delivery=callback)
        except BufferError as err:
            return "BufferError", str(err) or "queue full", CAUSE_QUEUE_FULL
        except Exception as err:  # KafkaException (e.g. record too large), closed client, ...
            name, text = _error_parts(err)
            return name, text, None
        return None

    def poll(self) -> None:
        if not self._closed:
            self._producer.poll(0)
        self._book.expire_overdue()
        self._book.sync_metrics()

    def flush(self, timeout_s: float) -> int:
        try:
            left = self._producer.flush(timeout_s)
        except Exception as err:
            publisher_log().warning("kafka flush for %s failed: %s: %s", self.data_type, type(err).__name__, err)
            return self._book.tracker.in_flight
        if left:
            publisher_log().warning("kafka flush for %s incomplete after %.1f s: %d records unresolved",
                                    self.data_type, timeout_s, left)
        self._book.sync_metrics()
        return self._book.tracker.in_flight

    def close(self, timeout_s: float) -> None:
        if self._closed:
            return
        try:
            left = self._producer.flush(timeout_s)
            if left:
                self.give_up()
                publisher_log().warning("kafka producer for %s closed with %d records unresolved (purged, "
                                        "counted as failed)", self.data_type, left)
        except Exception as err:
            publisher_log().warning("kafka producer for %s closed with %d records unresolved: %s: %s",
                                    self.data_type, self._book.tracker.in_flight, type(err).__name__, err)
            self._book.give_up("the producer was closed")
        self._closed = True
        self._book.sync_metrics()

    def give_up(self) -> int:
        if self._closed:
            return self._book.give_up("the producer was closed")
        # Purging makes librdkafka fail each record it still holds through its delivery callback
        # (error _PURGE_QUEUE / _PURGE_INFLIGHT), so each is counted with its own record; the
        # reports reach the queue a moment later: serve them, briefly, then count what is left.
        before = self.snapshot().failed
        try:
            self._producer.purge()
            for _ in range(_PURGE_POLLS):
                self._producer.poll(0.05)
                if self._book.tracker.in_flight <= 0:
                    break
        except Exception as err:  # noqa: BLE001 - whatever the client says, the records are counted below
            publisher_log().warning("kafka purge for %s failed: %s: %s", self.data_type, type(err).__name__, err)
        self._book.give_up("purged, their reports did not come back in time")
        return self.snapshot().failed - before

    def snapshot(self) -> TrackerSnapshot:
        return self._book.tracker.snapshot()

    @property
    def in_flight(self) -> int:
        return self._book.tracker.in_flight

    # --- callbacks (served by poll/flush on the caller's thread) ----------------------------
    def _on_delivery(self, attempt: PublishAttempt, record: MarketDataMessage, sent_at: float, err: Any,
                     _msg: Any) -> None:
        if err is None:
            self._client_cause = ""
            self._book.succeeded(attempt, record, sent_at)
            return
        name, text = str(err.name()), str(err.str())
        cause = failure_cause(name, text)
        if cause == CAUSE_TIMEOUT and self._client_cause:
            # a record that timed out because no broker could be reached (or would let us in)
            # says so through the error callback, not through its own error
            cause = self._client_cause
        self._book.failed(attempt, record, name, text, cause)

    def _on_client_error(self, err: Any) -> None:
        name, text = str(err.name()), str(err.str())
        cause = failure_cause(name, text)
        if cause not in (CAUSE_UNREACHABLE, CAUSE_AUTHENTICATION):
            publisher_log().warning("kafka client (%s): %s: %s", self.data_type, name, text)
            return
        if cause != self._client_cause:
            publisher_log().warning("kafka client (%s): %s: %s", self.data_type, name, text)
        self._client_cause = cause
