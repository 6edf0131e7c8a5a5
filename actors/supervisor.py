"""The single top-level actor (globalName ``krwfeed-supervisor``). It creates every other actor, so no
actor that owns threads ever forks (kafka-python runs an I/O thread), and it has no threads itself.

Start (seed S3.1-a): connectors, then the buffer, then one producer per data type; a second
``StartService`` is answered with ``ServiceError``. It grants connection attempts under the
exchanges' connect limits, restarts crashed children with backoff, keeps the status snapshot,
logs a progress line every ``progress_every`` messages and drives the graceful stop:
connectors stop -> the buffer drains into the producers -> the producers flush -> ``ServiceStopped``.

Every message lands here; starting and restarting children is ``supervisor_children``'s part,
driving the stop is ``supervisor_stop``'s, and the rules themselves live in ``pipeline/``.
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from thespian.actors import (
    ActorExitRequest,
    ActorTypeDispatcher,
    ChildActorExited,
    PoisonMessage,
    WakeupMessage,
)

from actors.children import Children
from actors.supervisor_base import STOP_TICK, supervisor_log
from actors.supervisor_children import RESTART, ChildKeeping
from actors.supervisor_stop import StopDriving
from messages.protocol import (
    BufferDrained,
    BufferStats,
    ConnectorStats,
    ConnectPermit,
    ConnectRequest,
    FatalError,
    ProducerFlushed,
    PublishReport,
    StartService,
    StateChanged,
    StatusQuery,
    StopService,
)
from pipeline.connect_pacer import ConnectPacer
from pipeline.progress_meter import ProgressMeter
from pipeline.restart_backoff import RestartBackoff
from pipeline.status_book import StatusBook
from pipeline.stop_sequence import StopSequence
from pipeline.utc_clock import utc_now_us

GLOBAL_NAME = "krwfeed-supervisor"
_PACE = "pace"


class Supervisor(ChildKeeping, StopDriving, ActorTypeDispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = None
        self.owner = None
        self.children = Children()
        self.book = StatusBook(utc_now_us())
        self.pacer = ConnectPacer()
        self.restarts = RestartBackoff()
        self.meter = ProgressMeter()
        self.stop = None
        self.fatal = ""
        self._kafka = None
        self._pace_armed = False

    # --- start and restarts ----------------------------------------------------------------
    def receiveMsg_StartService(self, msg: StartService, sender: Any) -> None:
        self._start_service(msg, sender)

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        self._child_exited(msg)

    # --- connect pacing ------------------------------------------------------------------
    def receiveMsg_ConnectRequest(self, msg: ConnectRequest, sender: Any) -> None:
        if self.stop is None:
            self.pacer.request(msg.exchange, msg.connection_id)
            self._release_permits()

    def _release_permits(self) -> None:
        now = time.monotonic()
        for connection_id in self.pacer.release(now):
            address = self.children.address(connection_id)
            if address is not None:
                self.send(address, ConnectPermit(connection_id))
        delay = self.pacer.next_release_in(now)
        if delay is not None and not self._pace_armed:
            self._pace_armed = True
            self.wakeupAfter(timedelta(seconds=max(delay, 0.001)), payload=_PACE)

    # --- reports -------------------------------------------------------------------------
    def receiveMsg_StateChanged(self, msg: StateChanged, sender: Any) -> None:
        self.book.on_state(msg)
        supervisor_log().debug("%s: %s -> %s (%s)", msg.connection_id, msg.old.value, msg.new.value, msg.reason)
        if self.stop is not None:
            self._advance(self.stop.connector_stopped(msg.connection_id, msg.new.value))

    def receiveMsg_ConnectorStats(self, msg: ConnectorStats, sender: Any) -> None:
        fresh = self.book.on_connector_stats(msg)
        for line in self.meter.add(fresh, time.monotonic()):
            supervisor_log().info(line.text())

    def receiveMsg_BufferStats(self, msg: BufferStats, sender: Any) -> None:
        self.book.on_buffer_stats(msg)

    def receiveMsg_PublishReport(self, msg: PublishReport, sender: Any) -> None:
        # Only the status: whether the failures are fatal is the producer's tracker's rule, and
        # it says so with a FatalError.
        self.book.on_publish_report(msg)

    def receiveMsg_FatalError(self, msg: FatalError, sender: Any) -> None:
        self._fatal(msg.reason)

    def _fatal(self, reason: str) -> None:
        if self.fatal:
            return
        self.fatal = reason
        supervisor_log().error("fatal: %s; the service stops with a non-zero exit code", reason)
        if self.owner is not None:
            self.send(self.owner, FatalError(reason))

    def receiveMsg_StatusQuery(self, msg: StatusQuery, sender: Any) -> None:
        running = self.settings is not None and (self.stop is None or not self.stop.done)
        self.send(sender, self.book.snapshot(utc_now_us(), running))

    def receiveMsg_PoisonMessage(self, msg: PoisonMessage, sender: Any) -> None:
        supervisor_log().error("a message could not be handled by %s: %r", sender, type(msg.poisonMessage).__name__)

    # --- stop ----------------------------------------------------------------------------
    def receiveMsg_StopService(self, msg: StopService, sender: Any) -> None:
        self._begin_stop(msg, sender)

    def receiveMsg_BufferDrained(self, msg: BufferDrained, sender: Any) -> None:
        if self.stop is not None:
            self._advance(self.stop.drained(msg.left))

    def receiveMsg_ProducerFlushed(self, msg: ProducerFlushed, sender: Any) -> None:
        if self.stop is not None:
            self._advance(self.stop.producer_flushed(f"producer-{msg.data_type}", msg.pending))

    # --- timers and exit -----------------------------------------------------------------
    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        if msg.payload == _PACE:
            self._pace_armed = False
            if self.stop is None:
                self._release_permits()
        elif msg.payload == STOP_TICK:
            self._stop_tick()
        elif isinstance(msg.payload, tuple) and msg.payload[0] == RESTART:
            self._restart(msg.payload[1])

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        # The actor system is shutting down: children get their own exit requests; never restart them.
        if self.stop is None:
            self.stop = StopSequence(set(), set(), deadline_s=0.0, now_s=time.monotonic())
