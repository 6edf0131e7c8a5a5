"""The events producer: one for the service, publishing each ``PublishEvent`` (connection and gap
events from the connectors, market list changes from the supervisor) to its exchange's events
topic.

A thin shell around ``publishers.events``: the event becomes a Kafka record there
(``event_message``) and goes out through a publisher of the configured client, built exactly as the
data producers' (``publishers.factory.make_publisher``), with an ``EventTally`` counting what became
of each event per exchange. Like the data producers it never ``createActor`` (its process runs the
client's threads).

* ``StartEvents`` -> builds the publisher; events that arrived before it wait (a bounded few).
* ``PublishEvent`` -> counted (GAP events, recovered trades), serialised and handed to the client;
  one that cannot be serialised counts as failed. Never silently lost: every event ends up
  published or failed, and the counts reach the supervisor as ``EventsReport``.
* every tick: the client serves its callbacks (``poll``), then an ``EventsReport`` when the counts
  changed (at most once per ``REPORT_EVERY_S``).
* ``FlushProducer`` (the stop, after the connectors reported their last state) -> flush with a
  timeout, what is still unresolved counts as failed, ``ProducerFlushed("events", pending)``.

Failing event deliveries never stop the service: the data producers' outage rule decides that.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, WakeupMessage

from actors.service_actor import ServiceActor
from domain.exceptions import SerializationException
from domain.records import ConnectionEventRecord
from messages import EventsReport, FlushProducer, ProducerFlushed, PublishEvent, StartEvents
from proto.serializer import EVENT_DATA_TYPE
from publishers.base import MessagePublisher
from publishers.events import EventTally, event_message
from publishers.factory import make_publisher

_TICK = "events-tick"
TICK_S = 0.2
REPORT_EVERY_S = 1.0
CLOSE_TIMEOUT_S = 1.0
MAX_EARLY = 1000  # events held until StartEvents arrives
EVENT_MAX_BLOCK_MS = 500
EVENTS_NAME = "events"  # the child's name and the data type its ProducerFlushed names


def _log() -> logging.Logger:
    return logging.getLogger("krwfeed.events")


class EventsProducerActor(ServiceActor):
    role = "events"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._publisher: MessagePublisher | None = None
        self._supervisor: Any = None
        self._tally = EventTally()
        self._early: deque[ConnectionEventRecord] = deque(maxlen=MAX_EARLY)
        self._reported = -1
        self._reported_at = 0.0

    def receiveMsg_StartEvents(self, msg: StartEvents, sender: Any) -> None:
        if self._publisher is not None:
            return
        self._supervisor = msg.supervisor
        self.announce(msg.supervisor, EVENTS_NAME)
        self._tally.expect(msg.exchanges)
        try:
            # An event waits at most EVENT_MAX_BLOCK_MS for its topic's metadata (kafka-python's send()
            # blocks for it): a missing events topic then costs a stop half a second per exchange, not
            # the data producers' two seconds. The event is counted failed either way.
            kafka = dataclasses.replace(msg.kafka, max_block_ms=min(msg.kafka.max_block_ms, EVENT_MAX_BLOCK_MS))
            self._publisher = make_publisher(kafka, EVENT_DATA_TYPE, observer=self._tally)
        except Exception as err:  # a bad client choice or option: every event will count as failed
            _log().error("the events producer could not build its Kafka client: %s: %s", type(err).__name__, err)
        _log().info("events producer started: %s", msg.kafka.events_topic("{exchange}"))
        while self._early:
            self._publish(self._early.popleft())
        self.wakeupAfter(timedelta(seconds=TICK_S), payload=_TICK)

    def receiveMsg_PublishEvent(self, msg: PublishEvent, sender: Any) -> None:
        if self._supervisor is None:
            self._early.append(msg.event)
            return
        self._publish(msg.event)
        self._report(force=False)

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        if msg.payload != _TICK:
            return
        if self._publisher is not None:
            self._publisher.poll()
        self._report(force=False)
        self.wakeupAfter(timedelta(seconds=TICK_S), payload=_TICK)

    def receiveMsg_FlushProducer(self, msg: FlushProducer, sender: Any) -> None:
        pending = 0
        if self._publisher is not None:
            pending = self._publisher.flush(msg.timeout_s)
            if pending:
                self._publisher.give_up()
        given_up = self._tally.abandon()
        if given_up:
            _log().warning("%d events unresolved at the stop: counted as failed", given_up)
        self._report(force=True)
        self.send(sender, ProducerFlushed(EVENTS_NAME, pending))

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        if self._publisher is not None:
            self._publisher.close(CLOSE_TIMEOUT_S)
        self._tally.abandon()

    def _publish(self, event: ConnectionEventRecord) -> None:
        self._tally.received(event)
        try:
            record = event_message(event)
        except SerializationException as err:
            _log().error("event not published, it cannot be serialised: %s (%r)", err, event)
            self._tally.refused(event)
            return
        if self._publisher is None:
            self._tally.refused(event)
            return
        self._publisher.publish([record])
        _log().info("event %s %s %s", event.kind.value, event.connection_id, event.reason)

    def _report(self, force: bool) -> None:
        if self._supervisor is None:
            return
        now = time.monotonic()
        if not force and (self._tally.version == self._reported or now - self._reported_at < REPORT_EVERY_S):
            return
        self._reported, self._reported_at = self._tally.version, now
        counts = self._tally.snapshot()
        snap = self._publisher.snapshot() if self._publisher is not None else None
        self.send(self._supervisor, EventsReport(
            counts.published, counts.failed, counts.gaps, counts.backfilled_trades,
            snap.consecutive_failures if snap else 0, snap.last_error if snap else "",
            snap.cause if snap else "", sum(counts.in_flight.values()), counts.recent))
