"""``MessagePublisher`` over kafka-python (seed S2.4).

Each record is sent keyed by its market code (murmur2 partitioning, so one code stays on one
partition in order, ready for Flink's ``keyBy``), to the topic the settings name for its exchange
and data type, with headers naming the Protobuf schema, the exchange and the data type.

Delivery callbacks run on kafka-python's sender thread: they only touch the thread-safe
``PublishTracker`` and Prometheus metrics (both lock-protected) and log once per publish call
that had failures. That line names every failed record (exchange:code and sequential id, up to a
limit) and every distinct error.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from messages.records import EncodedRecord
from messages.settings import KafkaSettings
from monitoring.metrics import (
    KAFKA_PUBLISH_LATENCY,
    MESSAGES_PUBLISHED,
    PROCESSING_LATENCY,
    PUBLISH_FAILURES,
)
from pipeline.kafka_config import describe, producer_kwargs
from pipeline.publish_tracker import PublishAttempt, PublishTracker, TrackerSnapshot
from publishers.base import MessagePublisher

SCHEMAS = {"trade": b"krwfeed.v1.Trade", "orderbook": b"krwfeed.v1.Orderbook"}
_LISTED_FAILURES = 20  # failed records named individually in one log line


def _log() -> logging.Logger:
    # looked up at call time so that, inside an actor process, Thespian's forwarding applies
    return logging.getLogger("krwfeed.publisher")


def _wall_us() -> int:
    return time.time_ns() // 1000


def _default_factory(**kwargs: Any) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(**kwargs)


class KafkaPublisher(MessagePublisher):
    def __init__(
        self,
        settings: KafkaSettings,
        data_type: str,
        producer_factory: Callable[..., Any] | None = None,
        wall_clock_us: Callable[[], int] = _wall_us,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.data_type = data_type
        self._wall_us = wall_clock_us
        self._monotonic = monotonic
        kwargs = producer_kwargs(settings)
        _log().info("kafka producer for %s: %s", data_type, describe(kwargs))
        # explicit api_version: this returns at once even when no broker is reachable
        self._producer = (producer_factory or _default_factory)(**kwargs)
        self._tracker = PublishTracker(settings.max_consecutive_failures)
        self._topics: dict[tuple[str, str], str] = {}
        self._headers: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
        self._published_metric: dict[str, Any] = {}
        self._ack_latency = KAFKA_PUBLISH_LATENCY.labels(data_type)
        self._processing_latency = PROCESSING_LATENCY.labels(data_type)
        self._closed = False

    # --- MessagePublisher -----------------------------------------------------------------
    def publish(self, records: Sequence[EncodedRecord]) -> int:
        if not records:
            return 0
        attempt = self._tracker.begin(len(records))
        handed = 0
        for index, record in enumerate(records):
            topic = self._topic_for(record)
            sent_at = self._monotonic()
            try:
                future = self._producer.send(
                    topic, key=record.code.encode(), value=record.payload, headers=self._headers_for(record)
                )
            except Exception as err:  # metadata timeout, closed client, oversized record, ...
                self._fail_unsent(attempt, records[index:], topic, err)
                break
            self._tracker.handed(attempt)
            handed += 1
            self._processing_latency.observe(max(0, self._wall_us() - record.received_time_us) / 1e6)
            future.add_callback(self._on_success, attempt, record, sent_at)
            future.add_errback(self._on_error, attempt, record, sent_at, topic)
        return handed

    def flush(self, timeout_s: float) -> int:
        try:
            self._producer.flush(timeout=timeout_s)
        except Exception as err:  # KafkaTimeoutError: something still unresolved at the deadline
            _log().warning("kafka flush for %s incomplete after %.1f s: %s", self.data_type, timeout_s, err)
        return self._tracker.in_flight

    def close(self, timeout_s: float) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._producer.close(timeout=timeout_s)
        except Exception as err:
            # kafka-python 3.0 raises KafkaTimeoutError from close() when the broker is gone and
            # records are pending; its sender thread is a daemon and dies with the process.
            _log().warning(
                "kafka producer for %s closed with %d records unresolved: %s: %s",
                self.data_type, self._tracker.in_flight, type(err).__name__, err,
            )

    def snapshot(self) -> TrackerSnapshot:
        return self._tracker.snapshot()

    @property
    def in_flight(self) -> int:
        return self._tracker.in_flight

    # --- callbacks (sender thread) --------------------------------------------------------
    def _on_success(self, attempt: PublishAttempt, record: EncodedRecord, sent_at: float, _meta: Any) -> None:
        self._ack_latency.observe(self._monotonic() - sent_at)
        metric = self._published_metric.get(record.exchange)
        if metric is None:
            metric = self._published_metric[record.exchange] = MESSAGES_PUBLISHED.labels(
                record.exchange, self.data_type
            )
        metric.inc()
        if self._tracker.succeeded(attempt) and attempt.errors:
            self._log_failures(attempt)

    def _on_error(
        self, attempt: PublishAttempt, record: EncodedRecord, sent_at: float, topic: str, exc: BaseException
    ) -> None:
        PUBLISH_FAILURES.labels(self.data_type, type(exc).__name__).inc()
        error = f"{type(exc).__name__} on {topic}: {exc}"
        if self._tracker.failed(attempt, f"{record.exchange}:{record.code}", record.sequential_id, error):
            self._log_failures(attempt)

    # --- internals ------------------------------------------------------------------------
    def _fail_unsent(
        self, attempt: PublishAttempt, records: Sequence[EncodedRecord], topic: str, err: Exception
    ) -> None:
        PUBLISH_FAILURES.labels(self.data_type, type(err).__name__).inc(len(records))
        error = f"{type(err).__name__} sending to {topic}: {err}"
        completed = False
        for record in records:
            completed = self._tracker.failed(
                attempt, f"{record.exchange}:{record.code}", record.sequential_id, error, handed=False
            )
        if completed:
            self._log_failures(attempt)

    def _log_failures(self, attempt: PublishAttempt) -> None:
        errors = attempt.errors
        named = ", ".join(f"{code}#{seq}" for code, seq, _ in errors[:_LISTED_FAILURES])
        if len(errors) > _LISTED_FAILURES:
            named += f", ... ({len(errors) - _LISTED_FAILURES} more)"
        kinds = sorted({error for _, _, error in errors})
        _log().warning(
            "kafka publish #%d (%s) failed for %d of %d records: %s; records: %s",
            attempt.attempt_id, self.data_type, len(errors), attempt.expected, " | ".join(kinds[:5]), named,
        )

    def _topic_for(self, record: EncodedRecord) -> str:
        key = (record.exchange, record.data_type)
        topic = self._topics.get(key)
        if topic is None:
            topic = self._topics[key] = self.settings.topic_for(record.exchange, record.data_type)
        return topic

    def _headers_for(self, record: EncodedRecord) -> list[tuple[str, bytes]]:
        key = (record.exchange, record.data_type)
        headers = self._headers.get(key)
        if headers is None:
            schema = SCHEMAS.get(record.data_type, record.data_type.encode())
            headers = self._headers[key] = [
                ("schema", schema),
                ("exchange", record.exchange.encode()),
                ("data_type", record.data_type.encode()),
            ]
        return headers
