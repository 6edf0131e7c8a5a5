"""What every Kafka publisher does the same way, whichever client sends: topics, keys, headers,
delivery accounting, metrics and failure logging.

One ``DeliveryBook`` per publisher. Each record goes keyed by its market code (both clients
partition keys with murmur2, so one code stays on one partition in order, ready for Flink's
``keyBy``) to the topic the settings name for its exchange and data type, with the headers
``proto.serializer.kafka_headers`` defines (a trade recovered by the REST backfill also carries
``source: rest``; a streamed record carries no ``source`` header). Outcomes go to the ``PublishTracker`` (counts and the
fatal rule) and the Prometheus metrics, both lock-protected, so the callbacks may run on a client's
own thread. The per-record metrics (both latencies, the published count) gather in the process and
reach Prometheus at each ``sync_metrics()`` (``monitoring.metric_batch``: one record's worth of
multiprocess metric writes cost as much as handing it to librdkafka). One log line per ``publish()`` call that had failures, once all its records are
resolved, names every failed record (exchange:code and sequential id, up to a limit) and every
distinct error. A record its client has not resolved long after the client's own deadline is counted
as failed on the owner's tick (``expire_overdue``), so no record stays counted nowhere.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from domain.clock import utc_now_us
from domain.market_data import MarketDataMessage
from domain.settings import KafkaSettings
from monitoring.metric_batch import CounterBatch, HistogramBatch
from monitoring.metrics import (
    KAFKA_PUBLISH_LATENCY,
    MESSAGES_PUBLISHED,
    PROCESSING_LATENCY,
    PUBLISH_FAILURES,
)
from proto.serializer import EVENT_DATA_TYPE, event_headers, kafka_headers
from publishers.kafka_config import delivery
from publishers.publish_tracker import CAUSE_OTHER, PublishAttempt, PublishTracker, failure_cause

_LISTED_FAILURES = 20  # failed records named individually in one log line
# A record still unresolved this long after its client's own deadline (the delivery timeout plus
# one request timeout) is counted as failed: the client was meant to have resolved it long before.
OVERDUE_MARGIN_S = 10.0

Headers = list[tuple[str, bytes]]
# What a client says when handed one record: None when it took the record, else why it refused
# (error name, text, and the failure cause, or None for the cause that name and text imply).
Refusal = tuple[str, str, str | None]
SendOne = Callable[[PublishAttempt, MarketDataMessage, str, Headers, float], Refusal | None]


class DeliveryObserver(Protocol):
    """Told of every record's fate besides the tracker (the events publisher's per-exchange counts)."""

    def handed(self, records: Sequence[MarketDataMessage]) -> None: ...

    def succeeded(self, record: MarketDataMessage) -> None: ...

    def failed(self, record: MarketDataMessage) -> None: ...


def publisher_log() -> logging.Logger:
    # looked up at call time so that, inside an actor process, Thespian's forwarding applies
    return logging.getLogger("krwfeed.publisher")


class DeliveryBook:
    def __init__(
        self,
        settings: KafkaSettings,
        data_type: str,
        wall_clock_us: Callable[[], int] = utc_now_us,
        monotonic: Callable[[], float] = time.monotonic,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.settings = settings
        self.data_type = data_type
        self.monotonic = monotonic
        self.observer = observer
        self._wall_us = wall_clock_us
        self.tracker = PublishTracker(settings.max_consecutive_failures, settings.max_outage_s, monotonic)
        self.overdue_after_s = (delivery(settings).delivery_timeout_ms + settings.request_timeout_ms) / 1000 \
            + OVERDUE_MARGIN_S
        self._routes: dict[tuple[str, str, str], tuple[str, Headers]] = {}
        self._keys: dict[str, bytes] = {}
        self._published_metric: dict[str, CounterBatch] = {}
        self._ack_latency = HistogramBatch(KAFKA_PUBLISH_LATENCY.labels(data_type))
        self._processing_latency = HistogramBatch(PROCESSING_LATENCY.labels(data_type))

    def sync_metrics(self) -> None:
        """Writes the gathered latencies and counts to Prometheus (the producer's tick, a flush)."""
        self._ack_latency.sync()
        self._processing_latency.sync()
        for counter in list(self._published_metric.values()):
            counter.sync()

    # --- routing (computed once per exchange and data type, once per code) ---------------
    def route(self, record: MarketDataMessage) -> tuple[str, Headers]:
        """(topic, headers) for ``record``."""
        key = (record.exchange, record.data_type, record.source)
        route = self._routes.get(key)
        if route is None:
            if record.data_type == EVENT_DATA_TYPE:  # connection and gap events: the events topic
                route = (self.settings.events_topic(record.exchange), event_headers(record.exchange))
            else:
                # A backfilled record goes to the same topic as a streamed one, with a ``source`` header.
                route = (self.settings.topic_for(record.exchange, record.data_type),
                         kafka_headers(record.exchange, record.data_type, record.source or None))
            self._routes[key] = route
        return route

    def key(self, record: MarketDataMessage) -> bytes:
        key = self._keys.get(record.code)
        if key is None:
            key = self._keys[record.code] = record.code.encode()
        return key

    # --- handing over ----------------------------------------------------------------------
    def hand_over(self, records: Sequence[MarketDataMessage], send_one: SendOne) -> int:
        """The loop of one ``publish()`` call, the same for every client: ``send_one`` hands one
        record (with its topic, headers and send time) to the client; at the first refusal the rest
        of the call fails unsent. Returns how many records the client took; the caller then reports
        them with ``observe_handed``."""
        attempt = self.begin(records)
        sent_at = self.monotonic()
        handed = 0
        for record in records:
            topic, headers = self.route(record)
            refusal = send_one(attempt, record, topic, headers, sent_at)
            if refusal is not None:
                self.failed_unsent(attempt, records[handed:], *refusal)
                break
            handed += 1
        return handed

    # --- accounting ------------------------------------------------------------------------
    def begin(self, records: Sequence[MarketDataMessage]) -> PublishAttempt:
        """A ``publish()`` call starts: its records count as in flight at once (one tracker update
        for all), so a callback that fires while the call is still handing records over never sees
        a count below zero; records that then fail before reaching the client go through
        ``failed_unsent``."""
        attempt = self.tracker.begin(len(records))
        self.tracker.handed(attempt, len(records))
        if self.observer is not None:
            attempt.records = records
            self.observer.handed(records)
        return attempt

    def observe_handed(self, records: Sequence[MarketDataMessage]) -> None:
        """Receive -> handed to the client latency, with one clock read for the whole call."""
        now_us = self._wall_us()
        self._processing_latency.observe_many([max(0, now_us - r.received_time_us) / 1e6 for r in records])

    def succeeded(self, attempt: PublishAttempt, record: MarketDataMessage, sent_at: float) -> None:
        if attempt.abandoned:  # already counted as failed (a stop, or overdue); it may well have landed
            return
        self._ack_latency.observe(self.monotonic() - sent_at)
        if self.observer is not None:
            self.observer.succeeded(record)
            if self.tracker.succeeded(attempt) and attempt.errors:
                self.log_failures(attempt)
            return
        metric = self._published_metric.get(record.exchange)
        if metric is None:
            metric = self._published_metric[record.exchange] = CounterBatch(MESSAGES_PUBLISHED.labels(
                record.exchange, self.data_type
            ))
        metric.inc()
        if self.tracker.succeeded(attempt) and attempt.errors:
            self.log_failures(attempt)

    def failed(self, attempt: PublishAttempt, record: MarketDataMessage, error_name: str, text: str,
               cause: str | None = None) -> None:
        """A handed record failed in delivery."""
        if attempt.abandoned:
            return
        PUBLISH_FAILURES.labels(self.data_type, error_name).inc()
        if self.observer is not None:
            self.observer.failed(record)
        topic = self.route(record)[0]
        if self.tracker.failed(attempt, f"{record.exchange}:{record.code}", record.sequential_id,
                               f"{error_name} on {topic}: {text}",
                               cause=cause or failure_cause(error_name, text)):
            self.log_failures(attempt)

    def failed_unsent(self, attempt: PublishAttempt, records: Sequence[MarketDataMessage], error_name: str,
                      text: str, cause: str | None = None) -> None:
        """``records`` (counted in flight by ``begin``) never reached the client: metadata timeout,
        closed client, full queue, ..."""
        if not records:
            return
        PUBLISH_FAILURES.labels(self.data_type, error_name).inc(len(records))
        cause = cause or failure_cause(error_name, text) or CAUSE_OTHER
        completed = False
        for record in records:
            if self.observer is not None:
                self.observer.failed(record)
            error = f"{error_name} sending to {self.route(record)[0]}: {text}"
            completed = self.tracker.failed(
                attempt, f"{record.exchange}:{record.code}", record.sequential_id, error, cause=cause,
            )
        if completed:
            self.log_failures(attempt)

    def give_up(self, why: str) -> int:
        """Every record the client still holds counts as failed (``Unresolved``), logged once;
        returns how many. Called when the client will not be waited for any longer."""
        count = self.tracker.abandon(f"Unresolved: {why}")
        if count:
            PUBLISH_FAILURES.labels(self.data_type, "Unresolved").inc(count)
            publisher_log().warning("kafka publisher for %s gave up %d unresolved records (%s); counted as failed",
                                    self.data_type, count, why)
        return count

    def expire_overdue(self) -> int:
        """Counts as failed (``Unresolved``) every record its client has held for longer than
        ``overdue_after_s``; returns how many. Called on the owner's tick; cheap when none is."""
        given_up = self.tracker.overdue(
            self.overdue_after_s, f"Unresolved: no outcome from the client after {self.overdue_after_s:.1f} s",
        )
        if not given_up:
            return 0
        count = sum(n for _, n in given_up)
        if self.observer is not None:
            for attempt, unresolved in given_up:
                # which of a partly resolved call's records are still open is not recorded; the
                # observer counts per exchange, and the events publisher sends one record per call
                for record in attempt.records[len(attempt.records) - unresolved:]:
                    self.observer.failed(record)
        if count:
            PUBLISH_FAILURES.labels(self.data_type, "Unresolved").inc(count)
            publisher_log().warning(
                "kafka publisher for %s: %d records had no outcome from the client after %.1f s (delivery "
                "timeout %.1f s); counted as failed", self.data_type, count, self.overdue_after_s,
                delivery(self.settings).delivery_timeout_ms / 1000,
            )
        return count

    def log_failures(self, attempt: PublishAttempt) -> None:
        errors = attempt.errors
        named = ", ".join(f"{code}#{seq}" for code, seq, _ in errors[:_LISTED_FAILURES])
        if len(errors) > _LISTED_FAILURES:
            named += f", ... ({len(errors) - _LISTED_FAILURES} more)"
        kinds = sorted({error for _, _, error in errors})
        publisher_log().warning(
            "kafka publish #%d (%s) failed for %d of %d records: %s; records: %s",
            attempt.attempt_id, self.data_type, len(errors), attempt.expected, " | ".join(kinds[:5]), named,
        )
