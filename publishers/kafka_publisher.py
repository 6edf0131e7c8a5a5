"""``MessagePublisher`` over kafka-python, the default client.

Keys, topics, headers and accounting are ``DeliveryBook``'s. kafka-python has no batch send, so
``publish()`` calls ``send()`` once per record, with everything else done once per call: the
topic, headers and key bytes come from caches, the clock is read once, and each future gets one
``add_both`` callback (kafka-python's accumulator then fills ``batch_size`` batches and its sender
thread ships them). Callbacks run on that sender thread and only touch lock-protected state.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from domain.market_data import MarketDataMessage
from domain.settings import KafkaSettings
from publishers.base import MessagePublisher
from publishers.delivery import DeliveryBook, DeliveryObserver, Headers, Refusal, publisher_log
from publishers.kafka_config import describe, producer_kwargs
from publishers.publish_tracker import (
    CAUSE_UNREACHABLE,
    PublishAttempt,
    TrackerSnapshot,
    failure_cause,
)

# After a send() failed (it blocks up to max_block_ms, e.g. waiting for a missing topic's metadata),
# the same topic's records fail at once for this long, so one unreachable topic cannot keep the
# producer actor's handler blocked for a whole batch of sends.
UNROUTABLE_RETRY_S = 5.0


def load_client() -> None:
    """Imports kafka (see ``publishers.factory.preload_client``)."""
    import kafka  # noqa: F401


def _default_factory(**kwargs: Any) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(**kwargs)


class KafkaPublisher(MessagePublisher):
    def __init__(
        self,
        settings: KafkaSettings,
        data_type: str,
        producer_factory: Callable[..., Any] | None = None,
        wall_clock_us: Callable[[], int] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.settings = settings
        self.data_type = data_type
        book_args: dict[str, Any] = {} if wall_clock_us is None else {"wall_clock_us": wall_clock_us}
        self._book = DeliveryBook(settings, data_type, monotonic=monotonic, observer=observer, **book_args)
        kwargs = producer_kwargs(settings)
        publisher_log().info("kafka producer (kafka-python) for %s: %s", data_type, describe(kwargs))
        # explicit api_version: this returns at once even when no broker is reachable
        self._producer = (producer_factory or _default_factory)(**kwargs)
        self._closed = False
        # topic -> (monotonic time until which its sends fail at once, error name, error text)
        self._unroutable: dict[str, tuple[float, str, str]] = {}

    # --- MessagePublisher -----------------------------------------------------------------
    def publish(self, records: Sequence[MarketDataMessage]) -> int:
        if not records:
            return 0
        handed = self._book.hand_over(records, self._send_one)
        self._book.observe_handed(records[:handed] if handed < len(records) else records)
        return handed

    def _send_one(self, attempt: PublishAttempt, record: MarketDataMessage, topic: str, headers: Headers,
                  sent_at: float) -> Refusal | None:
        unroutable = self._unroutable.get(topic)
        if unroutable is not None and sent_at < unroutable[0]:
            # send() just spent max_block_ms failing for this topic: fail at once instead of blocking again
            _, name, text = unroutable
            return name, text, self._cause(name, text)
        try:
            future = self._producer.send(topic, key=self._book.key(record), value=record.raw_data, headers=headers)
        except Exception as err:  # metadata timeout, closed client, oversized record, ...
            name, text = type(err).__name__, str(err)
            self._unroutable[topic] = (self._book.monotonic() + UNROUTABLE_RETRY_S, name, text)
            return name, text, self._cause(name, text)
        future.add_both(self._on_done, attempt, record, sent_at)
        return None

    def poll(self) -> None:
        self._book.expire_overdue()
        self._book.sync_metrics()

    def flush(self, timeout_s: float) -> int:
        try:
            self._producer.flush(timeout=timeout_s)
        except Exception as err:  # KafkaTimeoutError: something still unresolved at the deadline
            publisher_log().warning("kafka flush for %s incomplete after %.1f s: %s", self.data_type, timeout_s, err)
        self._book.sync_metrics()
        return self._book.tracker.in_flight

    def close(self, timeout_s: float) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._producer.close(timeout=timeout_s)
        except Exception as err:
            # kafka-python 3.0 raises KafkaTimeoutError from close() when the broker is gone and
            # records are pending; its sender thread is a daemon and dies with the process, and
            # the pending records' callbacks never fire: they are counted here instead.
            publisher_log().warning(
                "kafka producer for %s closed with %d records unresolved: %s: %s",
                self.data_type, self._book.tracker.in_flight, type(err).__name__, err,
            )
        self._book.give_up("the producer was closed")
        self._book.sync_metrics()

    def give_up(self) -> int:
        return self._book.give_up("no more time to wait for them")

    def snapshot(self) -> TrackerSnapshot:
        return self._book.tracker.snapshot()

    @property
    def in_flight(self) -> int:
        return self._book.tracker.in_flight

    # --- callbacks (sender thread) --------------------------------------------------------
    def _on_done(self, attempt: PublishAttempt, record: MarketDataMessage, sent_at: float, outcome: Any) -> None:
        if not isinstance(outcome, BaseException):
            self._book.succeeded(attempt, record, sent_at)
            return
        name, text = type(outcome).__name__, str(outcome)
        self._book.failed(attempt, record, name, text, self._cause(name, text))

    def _cause(self, name: str, text: str) -> str:
        cause = failure_cause(name, text)
        if name == "KafkaTimeoutError" and not self._broker_connected():
            # kafka-python expires records (and metadata waits) with the same KafkaTimeoutError
            # whether the broker is slow or gone; whether any broker connection is up tells which.
            # (A request that timed out on an open connection is a RequestTimedOutError.)
            return CAUSE_UNREACHABLE
        return cause

    def _broker_connected(self) -> bool:
        # kafka-python 3.0 exposes no public "any broker connected" query; this reads its
        # connection manager (pinned version), and falls back to the error's own classification.
        try:
            conns = list(self._producer._sender._client._manager._conns.values())
            return any(bool(conn.connected) for conn in conns)
        except Exception:
            return True
