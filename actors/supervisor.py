"""The supervisor: the single top-level actor (globalName ``krwfeed-supervisor``).

It creates every other actor, so no actor that owns threads ever forks (kafka-python runs an I/O
thread). Its own only threads are the REST clients' workers of ``markets: all``, and it never forks
while one of them is inside a request (``_spawn`` waits for them: a fork then could hand the child
a lock held by that thread). The actor classes come from the composition root in
``StartService``.

* Start: connectors and the buffer they feed first; the publishing side (one producer per data
  type) only once every connector has initialised (its first message, the request to connect, has
  arrived) or ``PUBLISHING_WAIT_S`` has passed, so a connector that dies while starting cannot hold
  publishing back. Each phase is logged. A second ``StartService`` is answered with ``ServiceError``. A start that fails half-way answers
  ``ServiceError`` and asks the children created so far to exit, instead of letting Thespian
  retry a half-done start.
* Connect pacing: each connection attempt waits for a ``ConnectPermit``, granted under the
  exchanges' per-IP connect limits (``supervision.connect_pacer``).
* Restarts: a crashed child is recreated after a backoff (``supervision.restart_backoff``). A
  restarted buffer listens on the same record-channel path, so connectors and producers simply
  reconnect to it.
* Status: the children's reports (with each connection's subscription tickets) are kept in ``supervision.status_book`` and answered to
  ``StatusQuery``; a progress line is logged every ``progress_every`` messages.
* Events: one events producer for the service (unless ``kafka.events`` is false), created before
  the connectors (each gets its address in ``StartConnector.events``) and started with the
  publishing side; its ``EventsReport`` goes into the status. ``publish_event`` hands it an event
  of the supervisor's own. Restarted, its new address goes to every connector (``EventsRoute``).
* Markets: an exchange configured with ``markets: all`` has its list read from ``GET
  /v1/market/all`` (a ``RestClient`` per exchange, its answers watched, never waited for), at start
  and every ``markets_refresh_s``; until the first list arrives that exchange has no connections and
  the request is retried with a backoff. A changed list sends each affected connector its complete
  new code list (``UpdateCodes``), starts connections when the others are full and stops those left
  without codes (``supervision.market_discovery``). A failed refresh keeps the last list; it is
  counted and logged, and the status shows each exchange's counts.
* Stop: connectors stop -> the buffer drains into the producers -> the producers (and the events producer) flush ->
  ``ServiceStopped`` (``supervision.stop_sequence`` decides what comes next; a second
  ``StopService`` joins the running sequence and gets the same answer).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from thespian.actors import (
    ActorExitRequest,
    ChildActorExited,
    PoisonMessage,
    ThespianWatch,
    WakeupMessage,
    WatchMessage,
)

from actors.service_actor import ServiceActor
from connectors.connection_events import lost_process_event
from connectors.rest_client import RestClient
from domain.clock import utc_now_us
from domain.config import ExchangeConfig
from domain.records import ConnectionEventKind, ConnectionEventRecord, Exchange
from domain.settings import BufferSettings, Settings
from exchanges.rest import MARKET_ALL_PATH
from messages import (
    ActorProcess,
    BufferDrained,
    BufferStats,
    ConnectorStats,
    ConnectPermit,
    ConnectRequest,
    DrainBuffer,
    EventsReport,
    EventsRoute,
    FatalError,
    FlushProducer,
    ProducerFlushed,
    PublishEvent,
    PublishReport,
    ServiceError,
    ServiceStarted,
    ServiceStopped,
    StartBuffer,
    StartConnector,
    StartEvents,
    StartProducer,
    StartService,
    StateChanged,
    StatusQuery,
    StopConnector,
    StopService,
    SubscriptionReport,
    UpdateCodes,
)
from monitoring.metrics import MARKET_LIST_CHANGES, MARKET_LIST_REFRESHES
from publishers.kafka_batching import connector_window_s
from supervision.connect_pacer import ConnectPacer
from supervision.connection_plan import plan_connections
from supervision.market_discovery import (
    ExchangeDiscovery,
    change_line,
    connection_changes,
    connection_room,
    read_listing,
    record_exchange,
    regroup,
)
from supervision.progress_meter import ProgressMeter
from supervision.restart_backoff import RestartBackoff
from supervision.status_book import StatusBook
from supervision.stop_sequence import StopSequence
from tape.markets import MarketSelection

GLOBAL_NAME = "krwfeed-supervisor"
EVENTS = "events"  # the events producer's child name and kind
_PACE = "pace"
RESTART = "restart"
START_PUBLISHING = "start-publishing"
PUBLISHING_WAIT_S = 10.0
STOP_TICK = "stop-tick"
STOP_TICK_S = 0.1
REFRESH_MARKETS = "refresh-markets"
SPAWN_DEFERRED = "spawn-deferred"
SPAWN_RETRY_S = 0.05


def supervisor_log() -> logging.Logger:  # at call time: module-level loggers bypass Thespian's forwarding
    return logging.getLogger("krwfeed.supervisor")


@dataclass(slots=True)
class Child:
    name: str  # "upbit-0", "buffer", "producer-trade"
    kind: str  # "connector", "buffer", "producer" or "events": a key of StartService.actor_classes
    start: Any  # the start message, rebuilt when addresses change
    address: Any = None
    exchange: str = ""


class Children:
    # ActorAddress compares by value but is not hashable, so lookups by address scan (a few dozen children).
    def __init__(self) -> None:
        self.by_name: dict[str, Child] = {}

    def add(self, child: Child) -> None:
        self.by_name[child.name] = child

    def placed(self, name: str, address: Any) -> None:
        self.by_name[name].address = address

    def name_of(self, address: Any) -> str | None:
        return next((c.name for c in self.by_name.values() if c.address is not None and c.address == address), None)

    def gone(self, address: Any) -> Child | None:
        name = self.name_of(address)
        if name is None:
            return None
        child = self.by_name[name]
        child.address = None
        return child

    def of_kind(self, kind: str) -> list[Child]:
        return [c for c in self.by_name.values() if c.kind == kind]

    def address(self, name: str) -> Any:
        child = self.by_name.get(name)
        return child.address if child else None


class Supervisor(ServiceActor):
    role = "supervisor"
    dies_with_parent = False  # its parent is Thespian's admin, which the composition root shuts down

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings: Settings | None = None
        self.owner: Any = None
        self.actor_classes: dict[str, Any] = {}
        self.children = Children()
        self.book = StatusBook(utc_now_us())
        self.pacer = ConnectPacer()
        self.restarts = RestartBackoff()
        self.meter = ProgressMeter()
        self.stop: StopSequence | None = None
        self.fatal = ""
        self._kafka: Any = None
        self._buffer = BufferSettings()
        self.channel_path = ""
        self._pace_armed = False
        self.awaiting_init: set[str] = set()  # connectors whose first message has not arrived yet
        self.publishing_started = False
        self.start_began = 0.0
        self.discovery: dict[str, ExchangeDiscovery] = {}  # exchanges configured with markets: all
        self.rest: dict[str, RestClient] = {}
        self.exchange_configs: dict[str, ExchangeConfig] = {}
        self.next_index: dict[str, int] = {}  # the number of the next connection of an exchange
        self.retired: set[str] = set()  # connections stopped for having no codes left: never restarted
        self.closing: list[RestClient] = []  # closed REST clients whose last request may still run
        self.deferred: list[str] = []  # children to create once no REST request is under way
        self._spawn_armed = False

    def receiveMessage(self, message: Any, sender: Any) -> Any:
        # The transport replaces the watch list after every message: every handler's answer is the watch.
        super().receiveMessage(message, sender)
        fds = [client.fileno() for client in self.rest.values()]
        return ThespianWatch(fds) if fds else None

    # --- start and restarts ----------------------------------------------------------------
    def receiveMsg_StartService(self, msg: StartService, sender: Any) -> None:
        self._start_service(msg, sender)

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender: Any) -> None:
        self._child_exited(msg)

    # --- connect pacing ------------------------------------------------------------------
    def receiveMsg_ConnectRequest(self, msg: ConnectRequest, sender: Any) -> None:
        self._connector_initialised(msg.connection_id)
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
        self._connector_initialised(msg.connection_id)
        self.book.on_state(msg)
        supervisor_log().debug("%s: %s -> %s (%s)", msg.connection_id, msg.old.value, msg.new.value, msg.reason)
        if self.stop is not None:
            self._advance(self.stop.connector_stopped(msg.connection_id, msg.new.value))

    def receiveMsg_ConnectorStats(self, msg: ConnectorStats, sender: Any) -> None:
        fresh = self.book.on_connector_stats(msg)
        self.book.sample_rates(utc_now_us())
        for line in self.meter.add(fresh, time.monotonic()):
            supervisor_log().info(line.text())

    def receiveMsg_SubscriptionReport(self, msg: SubscriptionReport, sender: Any) -> None:
        self.book.on_subscriptions(msg)

    def receiveMsg_ActorProcess(self, msg: ActorProcess, sender: Any) -> None:
        self.book.on_process(msg)

    def receiveMsg_BufferStats(self, msg: BufferStats, sender: Any) -> None:
        self.book.on_buffer_stats(msg)

    def receiveMsg_PublishReport(self, msg: PublishReport, sender: Any) -> None:
        # Only the status: whether the failures are fatal is the producer's tracker's rule, and
        # it says so with a FatalError.
        self.book.on_publish_report(msg)

    def receiveMsg_EventsReport(self, msg: EventsReport, sender: Any) -> None:
        self.book.on_events_report(msg)

    def publish_event(self, event: ConnectionEventRecord) -> None:
        """Hands ``event`` to the events producer; nothing happens when events are off (or the
        producer is between a crash and its restart, which the log says)."""
        address = self.children.address(EVENTS)
        if address is not None:
            self.send(address, PublishEvent(event))
        elif EVENTS in self.children.by_name:
            supervisor_log().warning("event %s of %s not published: the events producer is restarting",
                                     event.kind.value, event.connection_id)

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
            name = EVENTS if msg.data_type == EVENTS else f"producer-{msg.data_type}"
            self._advance(self.stop.producer_flushed(name, msg.pending))

    # --- the market lists ------------------------------------------------------------------
    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> None:
        for exchange, client in list(self.rest.items()):
            if client.fileno() in msg.ready:
                for answer in client.collect():
                    self._listing_answer(exchange, answer.status, answer.body, answer.error)

    def _ask_listing(self, exchange: str) -> None:
        client = self.rest.get(exchange)
        if client is None or self.stop is not None:
            return
        if not client.submit((REFRESH_MARKETS, exchange), MARKET_ALL_PATH):
            self._listing_answer(exchange, None, b"", "the REST client refused the request")

    def _listing_answer(self, exchange: str, status: int | None, body: bytes, error: str) -> None:
        found = self.discovery[exchange]
        listing, why = read_listing(exchange, status, body, error, found.selection.quotes)
        first = not found.listed
        result = found.apply(listing, why, utc_now_us())
        self.book.on_discovery(exchange, found.status())
        MARKET_LIST_REFRESHES.labels(exchange, "failed" if result.failed else "ok").inc()
        if not first:
            MARKET_LIST_CHANGES.labels(exchange, "added").inc(len(result.added))
            MARKET_LIST_CHANGES.labels(exchange, "removed").inc(len(result.removed))
        wait = found.next_request_in_s()
        if result.failed and first:
            supervisor_log().warning("%s: the market list is unavailable (%s); its connections start once it "
                                     "answers; attempt %d failed, retrying in %.1f s", exchange, why,
                                     found.failures_in_row, wait)
        elif result.failed:
            supervisor_log().warning("%s: market list refresh failed (%s); keeping the last list of %d markets "
                                     "(%d refreshes failed so far)", exchange, why, len(found.markets),
                                     found.refreshes_failed)
        elif first:
            supervisor_log().info("%s: following %d markets of the market list", exchange, len(result.markets))
        elif result.changed:
            supervisor_log().info(change_line(exchange, result))
        if not result.failed and (first or result.changed):
            self._follow(exchange, result.markets, announce=not first)  # the first list is the start
        if self.stop is None:
            self.wakeupAfter(timedelta(seconds=wait), payload=(REFRESH_MARKETS, exchange))

    def _follow(self, exchange: str, markets: tuple[str, ...], announce: bool) -> None:
        """Move the exchange's connections to carry exactly ``markets``; with ``announce``, one
        MARKETS_CHANGED event per connection touched."""
        cfg = self.exchange_configs[exchange]
        current = {c.name: c.start.markets for c in self.children.of_kind("connector")
                   if c.exchange == exchange and c.name not in self.retired}
        plan = regroup(exchange, current, markets, cfg.markets_per_connection, self.next_index.get(exchange, 0))
        running = [c for c in self.children.of_kind("connector") if c.name not in self.retired]
        room = connection_room(len(current) - len(plan.stopped), len(running) - len(plan.stopped),
                               len(self.children.of_kind("producer")))
        new = dict(list(plan.new.items())[:room])
        if len(new) < len(plan.new):
            supervisor_log().error("%s: %d more connections would exceed the limits on connections and actor "
                                   "processes; %d markets are not followed (raise markets_per_connection)",
                                   exchange, len(plan.new) - len(new),
                                   sum(len(codes) for cid, codes in plan.new.items() if cid not in new))
            plan = dataclasses.replace(plan, new=new)
        for name, codes in plan.updates.items():
            child = self.children.by_name[name]
            child.start = dataclasses.replace(child.start, markets=codes)  # a restart gets the new list
            self.book.set_codes(name, codes)
            if child.address is not None:
                self.send(child.address, UpdateCodes(codes))
        for name in plan.stopped:
            self._retire(name)
        for name, codes in new.items():
            child = Child(name, "connector", dataclasses.replace(cfg, markets=codes), exchange=exchange)
            self.children.add(child)
            self.book.expect_connection(name, exchange, codes, utc_now_us())
            self._spawn(child)
            self.next_index[exchange] = int(name.rsplit("-", 1)[1]) + 1
            supervisor_log().info("%s: new connection %s for %d codes", exchange, name, len(codes))
        self.book.keep_markets(exchange, markets)
        if announce:
            now_us = utc_now_us()
            for change in connection_changes(current, plan):
                self.publish_event(ConnectionEventRecord(
                    exchange=record_exchange(exchange), connection_id=change.connection_id,
                    kind=ConnectionEventKind.MARKETS_CHANGED, event_time_us=now_us, codes=change.codes,
                    added_codes=change.added, removed_codes=change.removed, reason="market list refreshed"))

    def _retire(self, name: str) -> None:
        """A connection left without codes: stopped for good (its counts stay in the totals)."""
        self.retired.add(name)
        child = self.children.by_name[name]
        supervisor_log().info("%s: no codes left; stopping the connection", name)
        if child.address is not None:
            self.send(child.address, StopConnector())
            self.send(child.address, ActorExitRequest())
        else:
            self.book.retire(name)

    def _close_rest(self) -> None:
        for client in self.rest.values():
            client.close()
        self.closing += self.rest.values()  # a request under way still runs until its timeout
        self.rest.clear()

    # --- timers and exit -----------------------------------------------------------------
    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        if msg.payload == _PACE:
            self._pace_armed = False
            if self.stop is None:
                self._release_permits()
        elif msg.payload == STOP_TICK:
            self._stop_tick()
        elif msg.payload == START_PUBLISHING:
            self._start_publishing()
        elif msg.payload == SPAWN_DEFERRED:
            self._spawn_deferred()
        elif isinstance(msg.payload, tuple) and msg.payload[0] == RESTART:
            self._restart(msg.payload[1])
        elif isinstance(msg.payload, tuple) and msg.payload[0] == REFRESH_MARKETS:
            self._ask_listing(msg.payload[1])

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        # The actor system is shutting down: children get their own exit requests; never restart them.
        self._close_rest()
        if self.stop is None:
            self.stop = StopSequence(set(), set(), deadline_s=0.0, now_s=time.monotonic())

    # --- starting and restarting children ----------------------------------------------------
    def _start_service(self, msg: StartService, sender: Any) -> None:
        if self.settings is not None:
            self.send(sender, ServiceError("the service is already started; a second start is refused"))
            return
        self.channel_path = os.path.join(msg.runtime_dir or tempfile.mkdtemp(prefix="krwfeed-"), "records.sock")
        self.actor_classes = dict(msg.actor_classes)
        try:
            self._start_children(msg.settings)
        except Exception as exc:  # answer instead of letting Thespian retry a half-done start
            supervisor_log().exception("the service could not start")
            self._close_rest()
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
        self.book.on_process(ActorProcess("supervisor", self.role, os.getpid()))
        self._kafka = settings.kafka
        self._buffer = settings.buffer
        events = settings.kafka.events and EVENTS in self.actor_classes
        if events:
            # Created before the connectors, which need its address; started (its Kafka client
            # built) with the publishing side. Events that come before then wait in it.
            self.children.add(Child(EVENTS, EVENTS, None))
            self.book.expect_events(cfg.name for cfg in settings.exchanges)
            self._create(self.children.by_name[EVENTS])
        for planned in plan_connections(settings.exchanges):  # connectors ...
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
        self._start_discovery(settings.exchanges)  # after the forks above: its requests run on threads
        self.awaiting_init = {c.name for c in self.children.of_kind("connector")}
        self.publishing_started = False
        self.start_began = time.monotonic()
        supervisor_log().info("starting connectors: %s; the publishing side follows once they have initialised",
                              ", ".join(sorted(self.awaiting_init)))
        self.wakeupAfter(timedelta(seconds=PUBLISHING_WAIT_S), payload=START_PUBLISHING)
        if not self.awaiting_init:
            self._start_publishing()

    def _start_discovery(self, exchanges: tuple[ExchangeConfig, ...] | list[ExchangeConfig]) -> None:
        """Ask each ``markets: all`` exchange for its market list; its connections follow the answer."""
        for cfg in exchanges:
            self.exchange_configs[cfg.name] = cfg
            if not cfg.markets_all:
                continue
            self.discovery[cfg.name] = ExchangeDiscovery(
                cfg.name, MarketSelection.of("all", cfg.exclude, cfg.quote_currencies), cfg.markets_refresh_s)
            self.book.on_discovery(cfg.name, self.discovery[cfg.name].status())
            self.rest[cfg.name] = RestClient(cfg.rest_url, timeout_s=cfg.connect_timeout_s)
            supervisor_log().info("%s: markets: all; asking %s%s for the market list (then every %g s)",
                                  cfg.name, cfg.rest_url, MARKET_ALL_PATH, cfg.markets_refresh_s)
            self._ask_listing(cfg.name)

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
        waiting = sorted(self.awaiting_init)
        # Logged before the starts it announces: a started producer logs its own first line at once,
        # and the log is the record of the start order.
        supervisor_log().info("starting the publishing side (%s) %.2f s after the connectors%s",
                              ", ".join(c.name for c in producers), time.monotonic() - self.start_began,
                              f"; not initialised yet: {', '.join(waiting)}" if waiting else
                              ": every connector initialised")
        for child in producers:
            self._spawn(child)
        for child in self.children.of_kind(EVENTS):
            if child.address is not None:
                self.send(child.address, self._start_message(child))

    def _spawn(self, child: Child) -> None:
        """Create and start ``child``; while a market-list request runs on a REST worker thread, as
        soon as none does: a fork then could leave the child holding a lock that thread held (TLS,
        name lookup), and the child would hang on its first use of it."""
        if self._rest_busy():
            if child.name not in self.deferred:
                self.deferred.append(child.name)
            if not self._spawn_armed:
                self._spawn_armed = True
                self.wakeupAfter(timedelta(seconds=SPAWN_RETRY_S), payload=SPAWN_DEFERRED)
            return
        self._create(child)
        self.send(child.address, self._start_message(child))

    def _spawn_deferred(self) -> None:
        self._spawn_armed = False
        names, self.deferred = self.deferred, []
        for name in names:
            child = self.children.by_name.get(name)
            if child is not None and child.address is None and name not in self.retired and self.stop is None:
                self._spawn(child)

    def _rest_busy(self) -> bool:
        self.closing = [client for client in self.closing if client.in_flight]
        return any(client.in_flight for client in (*self.rest.values(), *self.closing))

    def _create(self, child: Child) -> None:
        self.children.placed(child.name, self.createActor(self.actor_classes[child.kind]))
        self.restarts.started(child.name, time.monotonic())

    def _start_message(self, child: Child) -> Any:
        channel = self.channel_path
        if child.kind == "connector":
            siblings = sum(1 for c in self.children.of_kind("connector") if c.exchange == child.exchange)
            return StartConnector(child.name, child.start, channel, self.myAddress, connector_window_s(self._buffer),
                                  self.children.address(EVENTS), rest_share=1.0 / max(1, siblings))
        if child.kind == EVENTS:
            # every configured exchange, including a markets: all one whose connections come later
            return StartEvents(self._kafka, self.myAddress, tuple(sorted(self.exchange_configs)))
        if child.kind == "buffer":
            return StartBuffer(child.start, self.myAddress, channel)
        return StartProducer(child.start, self._kafka, channel, self.myAddress)

    def _child_exited(self, msg: ChildActorExited) -> None:
        child = self.children.gone(msg.childAddress)
        if child is None:
            return
        if child.name in self.retired:
            del self.children.by_name[child.name]
            self.book.retire(child.name)
            self.pacer.forget(child.name)
            if self.stop is not None:
                self._advance(self.stop.child_gone(child.name))
            return
        if child.kind == "connector":
            now_us = utc_now_us()
            conn = self.book.connections.get(child.name, {})
            lost = lost_process_event(Exchange(child.exchange), child.name, tuple(conn.get("codes", ())),
                                      str(conn.get("state", "")), int(conn.get("last_message_us", 0)),
                                      int(conn.get("since_us", 0)), now_us) if child.exchange else None
            if lost is not None:
                self.publish_event(lost)
            self.book.child_exited(child.name, now_us)
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
        if self.stop is not None or child.address is not None:
            return
        if child.kind in ("producer", EVENTS) and not self.publishing_started:
            if child.kind == EVENTS:  # created again now (the connectors need its address), started later
                self._create(child)
                self._route_events(child.address)
            return
        self._spawn(child)
        supervisor_log().info("%s restarted", name)
        # A restarted buffer listens on the same channel path: connectors and producers reconnect to it.
        if child.kind == EVENTS:
            self._route_events(child.address)

    def _route_events(self, address: Any) -> None:
        """The connectors send their events to the events producer's new address from now on."""
        for connector in self.children.of_kind("connector"):
            if connector.address is not None:
                self.send(connector.address, EventsRoute(address))

    # --- driving the stop ---------------------------------------------------------------------
    def _begin_stop(self, msg: StopService, sender: Any) -> None:
        if self.stop is not None:  # idempotent: later callers get the same answer
            self._advance(self.stop.add_waiter(sender))
            return
        self._close_rest()
        connectors = {c.name for c in self.children.of_kind("connector") if c.address is not None
                      and c.name not in self.retired and self.book.connections.get(c.name, {}).get("state") not in ("DISCONNECTED", "FAILED")}
        producers = {c.name for c in self.children.of_kind("producer") + self.children.of_kind(EVENTS)
                     if c.address is not None}
        self.stop = StopSequence(connectors, producers, deadline_s=msg.deadline_s, now_s=time.monotonic(),
                                 balanced=self.book.accounted)
        self.stop.add_waiter(sender)
        supervisor_log().info("stopping: %d connectors, then drain the buffer, then flush %d producers",
                              len(connectors), len(producers))
        for child in self.children.of_kind("connector"):
            if child.address is not None:
                self.send(child.address, StopConnector())
        self.wakeupAfter(timedelta(seconds=STOP_TICK_S), payload=STOP_TICK)
        self._advance(self.stop.begin())

    def _stop_tick(self) -> None:
        if self.stop is not None and not self.stop.done:
            self._advance(self.stop.tick(time.monotonic()))
            self.wakeupAfter(timedelta(seconds=STOP_TICK_S), payload=STOP_TICK)

    def _advance(self, actions: list[str]) -> None:
        assert self.stop is not None
        for action in actions:
            if action == "drain":
                buffer = self.children.address("buffer")
                if buffer is None:
                    self._advance(self.stop.drained(0))
                else:
                    self.send(buffer, DrainBuffer())
            elif action == "flush":
                for child in self.children.of_kind("producer") + self.children.of_kind(EVENTS):
                    if child.address is not None:
                        self.send(child.address, FlushProducer(timeout_s=max(0.5, self.stop.remaining_s(
                            time.monotonic()) - 0.5)))
            elif action == "done":
                self._report_stopped()

    def _report_stopped(self) -> None:
        assert self.stop is not None
        depth = sum(int(v) for v in self.book.buffer["depth"].values())
        left = self.stop.left_in_buffer if self.stop.left_in_buffer is not None else depth
        result = ServiceStopped(flushed=self.book.total_published(), left_in_buffer=left)
        supervisor_log().info("stopped: %d records published in total, %d left in the buffer, %s "
                              "(%d extra drains)", result.flushed, result.left_in_buffer, self.stop.outcome,
                              self.stop.redrains)
        for waiter in self.stop.take_waiters():
            self.send(waiter, result)
