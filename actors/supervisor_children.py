"""Starting the supervisor's children, and restarting the ones that exit (seed S3.1-a).

Start order: connectors and the buffer they feed first; the publishing side (one producer per data
type) only once every connector has initialised (its first message, the request to connect, has
arrived) or ``PUBLISHING_WAIT_S`` has passed, so a connector that dies while starting cannot hold
publishing back. Each phase is logged with the connectors it covers. A start that fails
half-way answers ``ServiceError`` and asks the children created so far to exit, instead of
letting Thespian retry a half-done start. A crashed child is recreated after a backoff; a new
buffer means new addresses, so the connectors and producers holding the old one restart too.
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, ChildActorExited

from actors.children import Child, Children, actor_class
from actors.supervisor_base import SupervisorBase, supervisor_log
from messages.protocol import (
    ServiceError,
    ServiceStarted,
    StartBuffer,
    StartConnector,
    StartProducer,
    StartService,
)
from messages.settings import Settings
from pipeline.connection_plan import plan_connections
from pipeline.progress_meter import ProgressMeter
from pipeline.status_book import StatusBook
from pipeline.utc_clock import utc_now_us

RESTART = "restart"
START_PUBLISHING = "start-publishing"
PUBLISHING_WAIT_S = 10.0


class ChildKeeping(SupervisorBase):
    def _start_service(self, msg: StartService, sender: Any) -> None:
        if self.settings is not None:
            self.send(sender, ServiceError("the service is already started; a second start is refused"))
            return
        try:
            self._start_children(msg.settings)
        except Exception as exc:  # answer instead of letting Thespian retry a half-done start
            supervisor_log().exception("the service could not start")
            for child in self.children.by_name.values():
                if child.address is not None:
                    self.send(child.address, ActorExitRequest())
            self.children = Children()
            self.send(sender, ServiceError(f"start failed: {exc!r}"))
            return
        self.settings, self.owner = msg.settings, sender
        names = tuple(c.name for c in self.children.of_kind("connector"))
        supervisor_log().info("service started: %d connections (%s), producers for %s", len(names),
                              ", ".join(names), ", ".join(c.start for c in self.children.of_kind("producer")))
        self.send(sender, ServiceStarted(names))

    def _start_children(self, settings: Settings) -> None:
        self.meter = ProgressMeter(settings.progress_every, time.monotonic())
        self.book = StatusBook(utc_now_us())
        self._kafka = settings.kafka
        for planned in plan_connections(settings.exchanges):  # connectors first (seed S3.1-a) ...
            self.children.add(Child(planned.connection_id, "connector", planned.config,
                                    exchange=planned.config.name))
            self.book.expect_connection(planned.connection_id, planned.config.name, planned.config.markets, 0)
        self.children.add(Child("buffer", "buffer", settings.buffer))  # ... then the publishing side
        for data_type in sorted({t for cfg in settings.exchanges for t in cfg.data_types}):
            self.children.add(Child(f"producer-{data_type}", "producer", data_type))
            self.book.expect_producer(data_type)
        ingestion = self.children.of_kind("connector") + self.children.of_kind("buffer")
        for child in ingestion:
            self._create(child)
        for child in ingestion:
            self.send(child.address, self._start_message(child))
        self.awaiting_init = {c.name for c in self.children.of_kind("connector")}
        self.publishing_started = False
        self.start_began = time.monotonic()
        supervisor_log().info("starting connectors: %s; the publishing side follows once they have initialised",
                              ", ".join(sorted(self.awaiting_init)))
        self.wakeupAfter(timedelta(seconds=PUBLISHING_WAIT_S), payload=START_PUBLISHING)
        if not self.awaiting_init:
            self._start_publishing()

    def _connector_initialised(self, name: str) -> None:
        """A connector's first message: it has built its connection and asks to connect."""
        if self.publishing_started or name not in self.awaiting_init:
            return
        self.awaiting_init.discard(name)
        if not self.awaiting_init:
            self._start_publishing()

    def _start_publishing(self) -> None:
        if self.publishing_started or self.stop is not None:
            return
        self.publishing_started = True
        producers = self.children.of_kind("producer")
        for child in producers:
            self._create(child)
            self.send(child.address, self._start_message(child))
        waiting = sorted(self.awaiting_init)
        supervisor_log().info("starting the publishing side (%s) %.2f s after the connectors%s",
                              ", ".join(c.name for c in producers), time.monotonic() - self.start_began,
                              f"; not initialised yet: {', '.join(waiting)}" if waiting else
                              ": every connector initialised")

    def _create(self, child: Child) -> None:
        self.children.placed(child.name, self.createActor(actor_class(child.kind)))
        self.restarts.started(child.name, time.monotonic())

    def _start_message(self, child: Child) -> Any:
        buffer = self.children.address("buffer")
        if child.kind == "connector":
            return StartConnector(child.name, child.start, buffer, self.myAddress)
        if child.kind == "buffer":
            return StartBuffer(child.start, self.myAddress)
        return StartProducer(child.start, self._kafka, buffer, self.myAddress)

    def _child_exited(self, msg: ChildActorExited) -> None:
        child = self.children.gone(msg.childAddress)
        if child is None:
            return
        if child.kind == "connector":
            self.book.child_exited(child.name, utc_now_us())
            self.pacer.forget(child.name)
        if self.stop is not None:
            self._advance(self.stop.child_gone(child.name))
            return
        delay = self.restarts.delay_after_exit(child.name, time.monotonic())
        supervisor_log().warning("%s exited; restarting in %.1f s (crash %d)", child.name, delay,
                                 self.restarts.crashes(child.name))
        self.wakeupAfter(timedelta(seconds=delay), payload=(RESTART, child.name))

    def _restart(self, name: str) -> None:
        child = self.children.by_name[name]
        if self.stop is not None or child.address is not None or (child.kind == "producer"
                                                                    and not self.publishing_started):
            return
        self._create(child)
        self.send(child.address, self._start_message(child))
        supervisor_log().info("%s restarted", name)
        if child.kind == "buffer":
            # Connectors and producers hold the old buffer's address: restart them to pick up the new one.
            for other in self.children.of_kind("connector") + self.children.of_kind("producer"):
                if other.address is not None:
                    self.send(other.address, ActorExitRequest())
