"""The producer actor: one per data type, pulling from the buffer and publishing to Kafka (S2.4-e).

Its process runs kafka-python's sender thread, so this actor must never ``createActor`` (that
would fork a multithreaded process); the supervisor creates everything.

Flow (pull-based backpressure):

* ``StartProducer`` -> builds the publisher of the configured client (``kafka.client``; both
  return at once even with the broker down) and sends the first ``PullRecords``.
* ``PulledRecords`` -> hands the records to the client and pulls again, unless more than
  ``MAX_IN_FLIGHT_BATCHES`` pulls' worth of records are unacknowledged. Then a timer polls the
  callback counters and pulls once the client has caught up. During a Kafka outage records
  therefore wait in the buffer, where the TTL drops the stale ones (counted), instead of piling
  up in the client; when delivery times out the producer pulls again and the cycle repeats.
* every tick: the client serves its delivery callbacks (``poll``), then a ``PublishReport`` to
  the supervisor when counts changed (at once after a new failed attempt, otherwise at most once
  per ``REPORT_EVERY_S``); ``FatalError`` once the tracker's outage rule says so (the only place
  that decides it: ``pipeline.publish_tracker``).
* ``FlushProducer`` -> flush with a timeout, answer ``ProducerFlushed``.
* ``ActorExitRequest`` -> close the client; kafka-python's ``close()`` raising when the broker
  is gone is caught inside the publisher.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, WakeupMessage

from actors.process_guard import die_with_parent
from messages.protocol import (
    FatalError,
    FlushProducer,
    ProducerFlushed,
    PublishReport,
    PulledRecords,
    PullRecords,
    StartProducer,
)
from messages.settings import KafkaSettings
from monitoring.metrics import CONSECUTIVE_ERRORS
from pipeline.publish_tracker import TrackerSnapshot
from publishers.base import MessagePublisher
from publishers.factory import make_publisher

_TICK = "producer-tick"
TICK_S = 0.05  # how often callback counters are polled
REPORT_EVERY_S = 1.0
MAX_IN_FLIGHT_BATCHES = 4  # unacknowledged records allowed: this many pulls' worth
CLOSE_TIMEOUT_S = 1.0


def _log() -> logging.Logger:
    return logging.getLogger("krwfeed.producer")


class ProducerActor(ActorTypeDispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        die_with_parent()
        self._publisher: MessagePublisher | None = None
        self._data_type = ""
        self._buffer: Any = None
        self._supervisor: Any = None
        self._pull_size = 500
        self._max_in_flight = 2000
        self._pull_pending = False
        self._fatal_sent = False
        self._reported: TrackerSnapshot | None = None
        self._reported_at = 0.0

    def receiveMsg_PulledRecords(self, msg: PulledRecords, sender: Any) -> None:
        self._on_records(msg)

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        if msg.payload == _TICK:
            self._on_tick()

    def receiveMsg_StartProducer(self, msg: StartProducer, sender: Any) -> None:
        self._on_start(msg)

    def receiveMsg_FlushProducer(self, msg: FlushProducer, sender: Any) -> None:
        self._on_flush(msg, sender)

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        if self._publisher is not None:
            self._publisher.close(CLOSE_TIMEOUT_S)

    # --- handlers -------------------------------------------------------------------------
    def _on_start(self, msg: StartProducer) -> None:
        self._buffer, self._supervisor = msg.buffer, msg.supervisor
        if self._publisher is not None:
            # a repeated start (e.g. the buffer was restarted) only updates the addresses
            self._pull_pending = False
            self._maybe_pull()
            return
        settings: KafkaSettings = msg.kafka
        self._data_type = msg.data_type
        self._pull_size = settings.pull_batch_size
        self._max_in_flight = settings.pull_batch_size * MAX_IN_FLIGHT_BATCHES
        try:
            self._publisher = make_publisher(settings, msg.data_type)
        except Exception as err:  # invalid configuration, missing compression library, ...
            reason = f"kafka producer for {msg.data_type} could not start: {type(err).__name__}: {err}"
            _log().error(reason)
            self.send(self._supervisor, FatalError(reason))
            return
        _log().info("producer %s started (pull %d, in-flight cap %d)", self._data_type,
                    self._pull_size, self._max_in_flight)
        self._maybe_pull()
        self.wakeupAfter(timedelta(seconds=TICK_S), payload=_TICK)

    def _on_records(self, msg: PulledRecords) -> None:
        self._pull_pending = False
        if self._publisher is None:
            return
        if msg.records:
            self._publisher.publish(msg.records)
            self._report(force=False)
        self._maybe_pull()

    def _on_tick(self) -> None:
        if self._publisher is not None:
            self._publisher.poll()
        self._report(force=False)
        self._maybe_pull()
        self.wakeupAfter(timedelta(seconds=TICK_S), payload=_TICK)

    def _on_flush(self, msg: FlushProducer, sender: Any) -> None:
        pending = self._publisher.flush(msg.timeout_s) if self._publisher is not None else 0
        self._report(force=True)
        self.send(sender, ProducerFlushed(self._data_type, pending))

    # --- helpers --------------------------------------------------------------------------
    def _maybe_pull(self) -> None:
        if self._pull_pending or self._publisher is None or self._buffer is None:
            return
        if self._publisher.snapshot().in_flight >= self._max_in_flight:
            return  # the tick pulls again once acknowledgements (or failures) come in
        self._pull_pending = True
        self.send(self._buffer, PullRecords(self._data_type, self._pull_size))

    def _report(self, force: bool) -> None:
        if self._publisher is None:
            return
        snap = self._publisher.snapshot()
        last = self._reported
        now = time.monotonic()
        changed = last is None or (snap.succeeded, snap.failed) != (last.succeeded, last.failed)
        failing = last is not None and snap.consecutive_failures > last.consecutive_failures
        if force or failing or (changed and now - self._reported_at >= REPORT_EVERY_S):
            CONSECUTIVE_ERRORS.labels(self._data_type).set(snap.consecutive_failures)
            self._reported, self._reported_at = snap, now
            self.send(self._supervisor, PublishReport(
                self._data_type, snap.succeeded, snap.failed, snap.consecutive_failures, snap.last_error,
                snap.cause, snap.failing_for_s,
            ))
        if snap.fatal and not self._fatal_sent:
            self._fatal_sent = True
            reason = (f"{snap.consecutive_failures} consecutive Kafka publish failures for "
                      f"{self._data_type}: {snap.cause or 'failing'} for {snap.failing_for_s:.0f} s "
                      f"(last: {snap.last_error})")
            _log().error(reason)
            self.send(self._supervisor, FatalError(reason))
