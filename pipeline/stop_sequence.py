"""The graceful stop as a pure state machine (seed S3.1-b/c/d): connectors stop -> the buffer drains
into the producers -> the producers flush -> done. Each step has an end condition and the whole
sequence has a deadline, so a child that never answers cannot hold the stop up.

Methods return the actions the caller must perform now: ``"drain"``, ``"flush"``, ``"done"``.
"""
from __future__ import annotations

from typing import Any

CONNECTORS, DRAIN, FLUSH, DONE = "connectors", "drain", "flush", "done"
_STOPPED_STATES = ("DISCONNECTED", "FAILED")


class StopSequence:
    def __init__(self, connectors: set[str], producers: set[str], *, deadline_s: float, now_s: float,
                 connector_grace_s: float = 1.0) -> None:
        self.phase = CONNECTORS
        self.connectors = set(connectors)
        self.producers = set(producers)
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
        if self.phase != CONNECTORS or state not in _STOPPED_STATES or name not in self.connectors:
            return []
        self.connectors.discard(name)
        return self._after_connectors() if not self.connectors else []

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
        return [FLUSH] + ([] if self.producers else self._finish("completed"))

    def producer_flushed(self, name: str, pending: int) -> list[str]:
        self.producers.discard(name)
        if self.phase == FLUSH and not self.producers:
            return self._finish("completed")
        return []

    def tick(self, now_s: float) -> list[str]:
        if self.done:
            return []
        if now_s >= self.deadline_at:
            return self._finish(f"deadline reached while in phase '{self.phase}'")
        if self.phase == CONNECTORS and now_s - self.started_s >= self.connector_grace_s:
            return self._after_connectors()
        return []

    def _after_connectors(self) -> list[str]:
        self.phase = DRAIN
        return [DRAIN]

    def _finish(self, outcome: str) -> list[str]:
        self.phase = DONE
        self.outcome = outcome
        return [DONE]
