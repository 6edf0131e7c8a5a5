"""The buffer actor: connectors push ``RecordBatch``es in, producers pull batches out (seed S2.6).

The queueing rules live in ``pipeline.buffer_queue.BufferQueue``; this shell only routes:

* ``RecordBatch`` -> queued; any parked pull that can now be served is answered.
* ``PullRecords`` -> answered at once with at most ``max_items`` fresh records of that data type.
  With nothing queued the pull is *parked*, so idle producers neither spin nor poll. A parked pull
  is answered as soon as a full batch is queued, or ``HOLD_S`` after the first records arrive:
  every actor message costs about 1 ms of CPU on each side, so answering each connector batch on
  its own would spend the machine on transport (measured: throughput collapsed above ~3k/s).
* ``DrainBuffer`` (shutdown) -> from then on TTL is ignored: everything still queued is real
  market data that reached krwfeed before the stop, and consumers can judge its age from the
  received time, so it goes to Kafka rather than being dropped at every deploy. Once the queue
  is empty, ``BufferDrained`` goes to whoever asked.
* every ``stats_interval_s``: stale heads expire, ``BufferStats`` goes to the supervisor and the
  ``BUFFER_DEPTH`` / ``MESSAGES_DROPPED`` metrics are updated.

Nothing here blocks: no I/O besides actor messages.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, WakeupMessage

from actors.process_guard import die_with_parent
from messages.protocol import (
    BufferDrained,
    BufferStats,
    DrainBuffer,
    PulledRecords,
    PullRecords,
    RecordBatch,
    StartBuffer,
)
from messages.settings import BufferSettings
from monitoring.metrics import BUFFER_DEPTH, MESSAGES_DROPPED
from pipeline.buffer_queue import BufferQueue
from pipeline.utc_clock import utc_now_us

_STATS_TICK = "buffer-stats"
_HOLD = "buffer-hold"
HOLD_S = 0.01  # a parked pull waits at most this long for a fuller batch


class BufferActor(ActorTypeDispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        die_with_parent()
        defaults = BufferSettings()
        self._queue = BufferQueue(defaults.capacity, defaults.ttl_s)
        self._parked: list[tuple[Any, str, int]] = []  # (producer address, data_type, max_items)
        self._supervisor: Any = None
        self._interval_s = 0.5
        self._ticking = False
        self._drain_requester: Any = None
        self._drain_reported = False
        self._reported_drops: dict[tuple[str, str, str], int] = {}
        self._hold_armed = False

    def receiveMsg_RecordBatch(self, msg: RecordBatch, sender: Any) -> None:
        self._queue.enqueue_many(msg.records, utc_now_us())
        self._serve_parked(full_only=True)
        if self._parked and not self._hold_armed:
            self._hold_armed = True
            self.wakeupAfter(timedelta(seconds=HOLD_S), payload=_HOLD)

    def receiveMsg_PullRecords(self, msg: PullRecords, sender: Any) -> None:
        self._on_pull(msg, sender)

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: Any) -> None:
        if msg.payload == _STATS_TICK:
            self._on_tick()
        elif msg.payload == _HOLD:
            self._hold_armed = False
            self._serve_parked()

    def receiveMsg_StartBuffer(self, msg: StartBuffer, sender: Any) -> None:
        self._on_start(msg)

    def receiveMsg_DrainBuffer(self, msg: DrainBuffer, sender: Any) -> None:
        self._drain_requester = sender
        self._drain_reported = False
        self._serve_parked()
        self._report_drained_if_empty()

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: Any) -> None:
        self._publish_stats()

    # --- handlers -------------------------------------------------------------------------
    def _on_start(self, msg: StartBuffer) -> None:
        self._supervisor = msg.supervisor
        self._interval_s = msg.stats_interval_s
        settings: BufferSettings = msg.settings
        if not self._ticking:  # configured once; a repeated start only updates the addresses
            self._queue = self._requeue(settings)
            self._ticking = True
            self.wakeupAfter(timedelta(seconds=self._interval_s), payload=_STATS_TICK)
        logging.getLogger("krwfeed.buffer").info(
            "buffer ready: capacity %d, ttl %s", settings.capacity, dict(settings.ttl_s)
        )

    def _on_pull(self, msg: PullRecords, sender: Any) -> None:
        if not self._answer(sender, msg.data_type, msg.max_items):
            # one parked pull per producer and data type: a re-pull replaces the old one
            self._parked = [p for p in self._parked if not (p[0] == sender and p[1] == msg.data_type)]
            self._parked.append((sender, msg.data_type, msg.max_items))

    def _on_tick(self) -> None:
        if self._drain_requester is None:
            self._queue.expire(utc_now_us())
        self._publish_stats()
        self.wakeupAfter(timedelta(seconds=self._interval_s), payload=_STATS_TICK)

    # --- helpers --------------------------------------------------------------------------
    def _answer(self, producer: Any, data_type: str, max_items: int) -> bool:
        """Send a batch if there is one; False when nothing fresh was queued."""
        if not self._queue.depth().get(data_type):
            return False
        draining = self._drain_requester is not None
        records = self._queue.dequeue_batch(max_items, utc_now_us(), data_type, ignore_ttl=draining)
        if not records:
            return False
        self.send(producer, PulledRecords(data_type, tuple(records), self._queue.depth()[data_type]))
        self._report_drained_if_empty()
        return True

    def _serve_parked(self, full_only: bool = False) -> None:
        """Answer parked pulls; with ``full_only`` only those a full batch is queued for."""
        if not self._parked:
            return
        if self._drain_requester is not None:
            full_only = False  # stopping: hand everything on now
        depth = self._queue.depth()
        self._parked = [
            p for p in self._parked
            if (full_only and depth.get(p[1], 0) < p[2]) or not self._answer(*p)
        ]

    def _report_drained_if_empty(self) -> None:
        if self._drain_requester is not None and not self._drain_reported and len(self._queue) == 0:
            self._drain_reported = True
            self._publish_stats()  # the final depth (0) reaches the status snapshot before the stop ends
            self.send(self._drain_requester, BufferDrained(left=0))

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
        queue = BufferQueue(settings.capacity, settings.ttl_s)
        queue.enqueue_many(old.dequeue_batch(len(old), now, ignore_ttl=True), now)
        queue.drops.add(old.drops)
        return queue
