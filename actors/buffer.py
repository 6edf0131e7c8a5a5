"""The buffer actor: records come in from the connectors and go out to the producers on the record
channel (``actors.record_channel``); Thespian carries its control and its stats.

The queueing rules live in ``buffering.buffer_queue.BufferQueue`` (bounded, TTL per data type,
orderbooks before trades, every drop counted); this shell owns the channel's listening socket
and routes:

* a RECORDS frame from a connector -> queued; then producers with credit are served.
* a CREDIT frame from a producer -> that producer may be sent that many more records. Credits are
  granted ahead, so handing records on costs no round trip, and a producer whose Kafka client is
  behind simply stops granting: records then wait here, where the TTL drops the stale ones
  (counted), instead of piling up in the client.
* serving: orderbooks first, each producer gets at most its credit, as one write.
* ``DrainBuffer`` (shutdown) -> the channels are read to the end first (every connector wrote its
  last records before reporting DISCONNECTED), then TTL is ignored: everything still queued is
  real market data that reached krwfeed before the stop, and consumers can judge its age from
  the received time, so it goes to Kafka rather than being dropped at every deploy. Once the
  queue is empty and every byte is with the producers, each producer gets DRAINED on its channel
  and ``BufferDrained`` goes to whoever asked.
* every ``stats_interval_s``: stale heads expire, ``BufferStats`` goes to the supervisor and the
  ``BUFFER_DEPTH`` / ``MESSAGES_DROPPED`` metrics are updated.

Nothing here blocks: the sockets are non-blocking and watched with ``ThespianWatch``.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, ThespianWatch, WakeupMessage, WatchMessage

from actors.record_channel import (
    CREDIT,
    DRAINED,
    HELLO,
    RECORDS,
    ChannelEnd,
    ChannelError,
    ChannelListener,
    decode_credit,
    decode_records,
    encode_frame,
    encode_records,
)
from actors.service_actor import ServiceActor
from buffering.buffer_queue import PRIORITY, BufferQueue
from domain.clock import utc_now_us
from domain.settings import BufferSettings
from messages import BufferDrained, BufferStats, DrainBuffer, StartBuffer
from monitoring.metrics import BUFFER_DEPTH, DATA_PATH_MESSAGES, MESSAGES_DROPPED

_STATS_TICK = "buffer-stats"
_RETRY = "buffer-retry"
RETRY_S = 0.005  # while bytes wait for a producer's socket, or a drain waits to complete
MAX_PRODUCER_BACKLOG = 4 * 1024 * 1024  # bytes queued for one producer before serving pauses
PRODUCER_ROLE = "producer:"


def _log() -> logging.Logger:
    return logging.getLogger("krwfeed.buffer")


class BufferActor(ServiceActor):
    role = "buffer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        defaults = BufferSettings()
        self._queue = BufferQueue(defaults.capacity, defaults.ttl_s)
        self._listener: ChannelListener | None = None
        self._peers: list[ChannelEnd] = []
        self._producers: dict[str, ChannelEnd] = {}  # data type -> its producer's channel
        self._credit: dict[str, int] = {}
        self._supervisor: Any = None
        self._interval_s = 0.5
        self._ticking = False
        self._retry_armed = False
        self._drain_requester: Any = None
        self._drain_reported = False
        self._reported_drops: dict[tuple[str, str, str], int] = {}

    def _watch(self) -> ThespianWatch | None:
        fds = [fd for fd in [self._listener.fileno() if self._listener else None]
               + [p.fileno() for p in self._peers] if fd is not None]
        return ThespianWatch(fds) if fds else None

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> ThespianWatch | None:
        return self._watch()

    # --- start ----------------------------------------------------------------------------
    def receiveMsg_StartBuffer(self, msg: StartBuffer, sender: Any) -> ThespianWatch | None:
        self._supervisor = msg.supervisor
        self._interval_s = msg.stats_interval_s
        settings: BufferSettings = msg.settings
        if not self._ticking:  # configured once; a repeated start only updates the supervisor
            self._queue = self._requeue(settings)
            self._listener = ChannelListener(msg.channel_path)
            self._ticking = True
            self.announce(msg.supervisor, "buffer")
            self.wakeupAfter(timedelta(seconds=self._interval_s), payload=_STATS_TICK)
        _log().info("buffer ready: capacity %d, ttl %s", settings.capacity, dict(settings.ttl_s))
        return self._watch()

    # --- the channel ----------------------------------------------------------------------
    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> ThespianWatch | None:
        ready = set(msg.ready)
        if self._listener is not None and self._listener.fileno() in ready:
            self._peers.extend(self._listener.accept_all())
        for peer in [p for p in self._peers if p.fileno() in ready]:
            self._read(peer)
        self._serve()
        return self._watch()

    def _read_all(self) -> None:
        if self._listener is not None:
            self._peers.extend(self._listener.accept_all())
        for peer in list(self._peers):
            self._read(peer)

    def _read(self, peer: ChannelEnd) -> None:
        """A peer that sends anything but well-formed frames is closed (it reconnects); what it
        sent before the bad frame is kept."""
        try:
            frames = peer.read()
            now = utc_now_us()
            for kind, body in frames:
                self._on_frame(peer, kind, body, now)
        except ChannelError as err:
            _log().error("record channel %s sent garbage and is closed: %s", peer.role or "?", err)
            peer.close()
        if peer.closed:
            self._forget(peer)

    def _on_frame(self, peer: ChannelEnd, kind: int, body: bytes, now: int) -> None:
        if kind == RECORDS:
            self._queue.enqueue_many(decode_records(body), now)
        elif kind == CREDIT and peer.role.startswith(PRODUCER_ROLE):
            data_type = peer.role[len(PRODUCER_ROLE):]
            self._credit[data_type] = self._credit.get(data_type, 0) + decode_credit(body)
        elif kind == HELLO:
            peer.role = body.decode(errors="replace")
            if peer.role.startswith(PRODUCER_ROLE):
                data_type = peer.role[len(PRODUCER_ROLE):]
                old = self._producers.get(data_type)
                if old is not None and old is not peer:
                    old.close()  # a restarted producer replaces its predecessor
                self._producers[data_type], self._credit[data_type] = peer, 0

    def _forget(self, peer: ChannelEnd) -> None:
        self._peers = [p for p in self._peers if p is not peer]
        for data_type, end in list(self._producers.items()):
            if end is peer:
                del self._producers[data_type]
                self._credit[data_type] = 0

    def _serve(self) -> None:
        """Hand queued records to producers with credit, orderbooks first."""
        draining = self._drain_requester is not None
        now = None
        backlog = False
        for data_type in PRIORITY:
            end = self._producers.get(data_type)
            credit = self._credit.get(data_type, 0)
            if end is None:
                continue
            if end.pending and not end.flush():
                backlog = True
                if end.pending > MAX_PRODUCER_BACKLOG:
                    continue
            if credit <= 0 or not self._queue.depth().get(data_type):
                continue
            now = now or utc_now_us()
            records = self._queue.dequeue_batch(credit, now, data_type, ignore_ttl=draining)
            if not records:
                continue
            self._credit[data_type] = credit - len(records)
            if not end.write_all(encode_records(records)):
                # Only a closed socket refuses here (the backlog was checked): the producer died.
                for record in records:
                    self._queue.drops.count("channel_unavailable", record)
                self._forget(end)
                continue
            DATA_PATH_MESSAGES.labels("buffer_to_producer").inc()
            if end.pending:
                backlog = True
        if draining:
            self._report_drained_if_empty()
            backlog = backlog or not self._drain_reported
        if backlog and not self._retry_armed:
            self._retry_armed = True
            self.wakeupAfter(timedelta(seconds=RETRY_S), payload=_RETRY)

    # --- timers, drain, exit --------------------------------------------------------------
    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> ThespianWatch | None:
        if msg.payload == _STATS_TICK:
            if self._drain_requester is None:
                self._queue.expire(utc_now_us())
            self._publish_stats()
            self._serve()
            self.wakeupAfter(timedelta(seconds=self._interval_s), payload=_STATS_TICK)
        elif msg.payload == _RETRY:
            self._retry_armed = False
            self._serve()
        return self._watch()

    def receiveMsg_DrainBuffer(self, msg: DrainBuffer, sender: Any) -> ThespianWatch | None:
        self._drain_requester = sender
        self._drain_reported = False
        self._read_all()
        self._serve()
        return self._watch()

    def _report_drained_if_empty(self) -> None:
        if self._drain_requester is None or self._drain_reported or len(self._queue) != 0:
            return
        if any(end.pending and not end.flush() for end in self._producers.values()):
            return  # the last records are not all with the producers yet
        for end in self._producers.values():
            end.write(encode_frame(DRAINED))
        self._drain_reported = True
        self._publish_stats()  # the final depth (0) reaches the status snapshot before the stop ends
        self.send(self._drain_requester, BufferDrained(left=0))

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        self._publish_stats()
        for peer in self._peers:
            peer.flush()
            peer.close()
        if self._listener is not None:
            self._listener.close()

    # --- helpers --------------------------------------------------------------------------
    def _publish_stats(self) -> None:
        depth = self._queue.depth()
        for data_type, queued in depth.items():
            BUFFER_DEPTH.labels(data_type).set(queued)
        for key, count in self._queue.dropped_by_exchange.items():
            delta = count - self._reported_drops.get(key, 0)
            if delta > 0:
                MESSAGES_DROPPED.labels(*key).inc(delta)
                self._reported_drops[key] = count
        if self._supervisor is not None:
            dropped = {f"{reason}:{dt}": n for (reason, dt), n in self._queue.dropped.items()}
            self.send(self._supervisor, BufferStats(depth=depth, dropped=dropped))

    def _requeue(self, settings: BufferSettings) -> BufferQueue:
        """A queue with the new settings, keeping what is queued and what was counted."""
        old, now = self._queue, utc_now_us()
        queue = BufferQueue(settings.capacity, settings.ttl_s, keep_at_capacity=settings.keep_at_capacity)
        queue.enqueue_many(old.dequeue_batch(len(old), now, ignore_ttl=True), now)
        queue.drops.add(old.drops)
        return queue
