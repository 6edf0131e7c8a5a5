"""The graceful stop as a pure state machine: connectors stop -> the buffer drains
into the producers -> the producers flush -> done. Each step has an end condition and the whole
sequence has a deadline, so a child that never answers cannot hold the stop up.

Methods return the actions the caller must perform now: ``"drain"``, ``"flush"``, ``"done"``.

A connector's last batch and the drain request come from different senders, so the batch can reach
the buffer after it reported itself empty. ``balanced`` (everything received is accounted as
published, dropped or failed) guards the end: until it holds, the sequence settles and drains again.

A connector slower than the grace does not hold up the drain, but it still holds up the end: its
final counts arrive with its DISCONNECTED report, and without them ``balanced`` would judge
against counts that miss its last records. Only the deadline ends the stop without them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

CONNECTORS, DRAIN, FLUSH, SETTLE, DONE = "connectors", "drain", "flush", "settle", "done"
REDRAIN_EVERY_S = 0.2
_STOPPED_STATES = ("DISCONNECTED", "FAILED")


class StopSequence:
    def __init__(self, connectors: set[str], producers: set[str], *, deadline_s: float, now_s: float,
                 connector_grace_s: float = 1.0, balanced: Callable[[], bool] = lambda: True) -> None:
        self.phase = CONNECTORS
        self.connectors = set(connectors)
        self.producers = set(producers)
        self.all_producers = frozenset(producers)
        self.balanced = balanced
        self.redrains = 0
        self._settle_since = 0.0
        self.started_s = now_s
        self.deadline_at = now_s + deadline_s
        self.connector_grace_s = min(connector_grace_s, deadline_s / 4)
        self.left_in_buffer: int | None = None
        self.outcome = "in progress"
        self._waiters: list[Any] = []

    @property
    def done(self) -> bool:
        return self.phase == DONE

    def remaining_s(self, now_s: float) -> float:
        return max(0.0, self.deadline_at - now_s)

    def add_waiter(self, waiter: Any) -> list[str]:
        self._waiters.append(waiter)
        return [DONE] if self.done else []

    def take_waiters(self) -> list[Any]:
        waiters, self._waiters = self._waiters, []
        return waiters

    def begin(self) -> list[str]:
        return self._after_connectors() if not self.connectors else []

    def connector_stopped(self, name: str, state: str) -> list[str]:
        if state not in _STOPPED_STATES or name not in self.connectors:
            return []
        self.connectors.discard(name)
        if self.phase == CONNECTORS and not self.connectors:
            return self._after_connectors()
        return []

    def child_gone(self, name: str) -> list[str]:
        if name in self.connectors:
            return self.connector_stopped(name, "DISCONNECTED")
        if name in self.producers:
            return self.producer_flushed(name, 0)
        return []

    def drained(self, left: int) -> list[str]:
        if self.phase != DRAIN:
            return []
        self.left_in_buffer = left
        self.phase = FLUSH
        return [FLUSH] + ([] if self.producers else self._flushed())

    def producer_flushed(self, name: str, pending: int) -> list[str]:
        self.producers.discard(name)
        if self.phase == FLUSH and not self.producers:
            return self._flushed()
        return []

    def _settled(self) -> bool:
        return not self.connectors and self.balanced()

    def _flushed(self) -> list[str]:
        if self._settled():
            return self._finish("completed")
        self.phase = SETTLE
        self._settle_since = -1.0  # set on the next tick
        return []

    def tick(self, now_s: float) -> list[str]:
        if self.done:
            return []
        if now_s >= self.deadline_at:
            return self._finish(f"deadline reached while in phase '{self.phase}'")
        if self.phase == CONNECTORS and now_s - self.started_s >= self.connector_grace_s:
            return self._after_connectors()
        if self.phase == SETTLE:
            if self._settled():
                return self._finish("completed")
            if self._settle_since < 0:
                self._settle_since = now_s
            elif now_s - self._settle_since >= REDRAIN_EVERY_S:  # late records: drain and flush again
                self.redrains += 1
                self.producers = set(self.all_producers)
                return self._after_connectors()
        return []

    def _after_connectors(self) -> list[str]:
        self.phase = DRAIN
        return [DRAIN]

    def _finish(self, outcome: str) -> list[str]:
        self.phase = DONE
        self.outcome = outcome
        return [DONE]
