"""The producer actor: one per data type, taking records from the buffer's record channel and
publishing them to Kafka.

Its process runs kafka-python's sender thread, so this actor must never ``createActor`` (that
would fork a multithreaded process); the supervisor creates everything.

Flow (credit-based backpressure, no round trip per batch):

* ``StartProducer`` -> builds the publisher of the configured client (``kafka.client``; both
  return at once even with the broker down), connects to the buffer's record channel, introduces itself and
  grants credit: how many more records it will take.
* RECORDS on the channel -> handed to the client. Credit is topped up whenever room of at least
  ``credit_step`` records opened (the step and the cap follow the Kafka batch settings:
  ``publishers.kafka_batching``), where room = the in-flight cap minus unacknowledged records
  minus credit already granted. So while Kafka is slow the credit runs out, records wait in the
  buffer, where the TTL drops the stale ones (counted), instead of piling up in the client.
* every tick: the client serves its delivery callbacks (``poll``), then a ``PublishReport`` to
  the supervisor when counts changed (at once after a new failed attempt, otherwise at most once
  per ``REPORT_EVERY_S``); ``FatalError`` once the tracker's outage rule says so (the only place
  that decides it: ``publishers.publish_tracker``); a lost channel is reconnected.
* ``FlushProducer`` -> the channel is read to its end (the buffer wrote DRAINED there before it
  reported drained), then the client flushes with a timeout and ``ProducerFlushed`` answers.
* ``ActorExitRequest`` -> close the client; kafka-python's ``close()`` raising when the broker
  is gone is caught inside the publisher.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, ThespianWatch, WakeupMessage, WatchMessage

from actors.record_channel import DRAINED, RECORDS, ChannelEnd, ChannelError, decode_records, encode_credit
from actors.service_actor import ServiceActor
from domain.settings import KafkaSettings
from messages import (
    FatalError,
    FlushProducer,
    ProducerFlushed,
    PublishReport,
    StartProducer,
)
from monitoring.metrics import CONSECUTIVE_ERRORS, DATA_PATH_MESSAGES
from publishers.base import MessagePublisher
from publishers.factory import make_publisher
from publishers.kafka_batching import credit_plan
from publishers.publish_tracker import TrackerSnapshot

_TICK = "producer-tick"
TICK_S = 0.05  # how often callback counters are polled
REPORT_EVERY_S = 1.0
CLOSE_TIMEOUT_S = 1.0


def _log() -> logging.Logger:
    return logging.getLogger("krwfeed.producer")


class ProducerActor(ServiceActor):
    role = "producer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._publisher: MessagePublisher | None = None
        self._data_type = ""
        self._channel_path = ""
        self._channel: ChannelEnd | None = None
        self._supervisor: Any = None
        self._credit_step = 500
        self._max_in_flight = 2000
        self._granted = 0  # credit granted on the current channel connection
        self._received = 0  # records received on it
        self._drained = False
        self._fatal_sent = False
        self._reported: TrackerSnapshot | None = None
        self._reported_at = 0.0

    def _watch(self) -> ThespianWatch | None:
        fd = self._channel.fileno() if self._channel is not None else None
        return ThespianWatch([fd]) if fd is not None else None

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> ThespianWatch | None:
        return self._watch()

    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> ThespianWatch | None:
        self._read()
        self._grant()
        return self._watch()

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> ThespianWatch | None:
        if msg.payload == _TICK:
            if self._publisher is not None:
                self._publisher.poll()
            self._report(force=False)
            if self._channel is None or self._channel.closed:
                self._connect()
            self._grant()
            self.wakeupAfter(timedelta(seconds=TICK_S), payload=_TICK)
        return self._watch()

    def receiveMsg_StartProducer(self, msg: StartProducer, sender: Any) -> ThespianWatch | None:
        self._supervisor, self._channel_path = msg.supervisor, msg.channel_path
        if self._publisher is not None:  # a repeated start only updates the supervisor's address
            return self._watch()
        settings: KafkaSettings = msg.kafka
        self._data_type = msg.data_type
        self.announce(msg.supervisor, f"producer-{msg.data_type}")
        plan = credit_plan(settings, msg.data_type)
        self._credit_step, self._max_in_flight = plan.step, plan.cap
        try:
            self._publisher = make_publisher(settings, msg.data_type)
        except Exception as err:  # invalid configuration, missing compression library, ...
            reason = f"kafka producer for {msg.data_type} could not start: {type(err).__name__}: {err}"
            _log().error(reason)
            self.send(self._supervisor, FatalError(reason))
            return None
        _log().info("producer %s started (credit step %d, in-flight cap %d)", self._data_type,
                    self._credit_step, self._max_in_flight)
        self._connect()
        self._grant()
        self.wakeupAfter(timedelta(seconds=TICK_S), payload=_TICK)
        return self._watch()

    def receiveMsg_FlushProducer(self, msg: FlushProducer, sender: Any) -> ThespianWatch | None:
        while not self._drained and self._read():
            pass
        if not self._drained:
            _log().warning("producer %s: flushing before the buffer's drain marker arrived", self._data_type)
        pending = self._publisher.flush(msg.timeout_s) if self._publisher is not None else 0
        if pending and self._publisher is not None:
            # The stop's time is up: what the client still holds counts as failed now, so the
            # final status accounts for it (the client's callbacks would not come before the exit).
            self._publisher.give_up()
        self._report(force=True)
        self.send(sender, ProducerFlushed(self._data_type, pending))
        return self._watch()

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._publisher is not None:
            self._publisher.close(CLOSE_TIMEOUT_S)

    # --- the channel ----------------------------------------------------------------------
    def _connect(self) -> None:
        if not self._channel_path or self._publisher is None:
            return
        try:
            self._channel = ChannelEnd.connect(self._channel_path, f"producer:{self._data_type}")
        except OSError:
            self._channel = None  # the buffer is not listening yet: the tick retries
            return
        self._granted = self._received = 0

    def _read(self) -> int:
        """Publishes what arrived on the channel; returns the number of frames read."""
        channel = self._channel
        if channel is None or self._publisher is None:
            return 0
        try:
            frames = channel.read()
            for kind, body in frames:
                if kind == RECORDS:
                    records = decode_records(body)
                    self._received += len(records)
                    self._publisher.publish(records)
                    self._report(force=False)  # a failing client is reported at once, not after the whole read
                elif kind == DRAINED:
                    self._drained = True
        except ChannelError as err:
            _log().error("producer %s: the record channel sent garbage and is reconnected: %s", self._data_type, err)
            channel.close()
            return 0
        return len(frames)

    def _grant(self) -> None:
        channel = self._channel
        if channel is None or channel.closed or self._publisher is None:
            return
        outstanding = self._granted - self._received
        room = self._max_in_flight - self._publisher.snapshot().in_flight - outstanding
        worth_granting = room >= self._credit_step or (room > 0 and outstanding <= 0)
        if worth_granting and channel.write(encode_credit(room)):
            self._granted += room
            DATA_PATH_MESSAGES.labels("producer_credit").inc()

    # --- helpers --------------------------------------------------------------------------
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
