"""Reading the connector actor's socket and handing records on in batches, never one message per
frame: Thespian costs about 1 ms per message (thespian notes §2-3). Counters go to the supervisor
when they changed, and at least every ``STATS_HEARTBEAT_S``."""
from __future__ import annotations

import time
from dataclasses import dataclass

from actors.connector_base import ConnectorActorBase
from messages.protocol import RecordBatch

MAX_FRAMES_PER_DRAIN = 500  # then yield to other messages and continue with a DrainSocket to self
MAX_BATCH = 500  # records per RecordBatch
BATCH_INTERVAL_S = 0.01  # at most ~100 batches/s per connector, at most 10 ms added latency
STATS_EVERY_S = 0.5
STATS_HEARTBEAT_S = 5.0  # unchanged stats are still sent this often
STOP_DRAIN_FRAMES = 5000


@dataclass(frozen=True, slots=True)
class DrainSocket:
    """Sent to itself when a drain stopped early: TLS may hold data that select cannot see."""


class RecordForwarding(ConnectorActorBase):
    def _drain(self, max_frames: int) -> None:
        if self.connector is None or self.stopped:
            return
        result = self.connector.drain(max_frames)
        if result.records:
            self.window.add(result.records)
        if result.more:
            self.send(self.myAddress, DrainSocket())
        self._flush(force=False)
        self._arm_retry()

    def _flush(self, force: bool) -> None:
        assert self.start is not None
        now = time.monotonic()
        while self.window.pending and (force or self.window.due(now)):
            self.send(self.start.buffer, RecordBatch(self.window.take(now)))
        if self.window.pending and not self.flush_armed:
            self.flush_armed = True
            self.wakeupAfter(self.window.wait_s(now), "flush")

    def _send_stats(self, force: bool) -> None:
        assert self.start is not None and self.connector is not None
        stats = self.connector.stats()
        now = time.monotonic()
        if self.start.supervisor is None:
            return
        if force or stats != self.last_stats or now - self.last_stats_at >= STATS_HEARTBEAT_S:
            self.send(self.start.supervisor, stats)
            self.last_stats, self.last_stats_at = stats, now
