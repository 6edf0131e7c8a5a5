"""A real actor standing in for the buffer and the supervisor in connector tests.

It grants every ConnectRequest at once, keeps every record it is sent (code, data type,
sequential id), every StateChanged and the last ConnectorStats, and answers ``SinkQuery``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from thespian.actors import ActorTypeDispatcher

from messages.protocol import ConnectorStats, ConnectPermit, ConnectRequest, RecordBatch, StateChanged


@dataclass(frozen=True)
class SinkQuery:
    detail: bool = False  # include every record (large), or only counts


@dataclass(frozen=True)
class SinkReport:
    record_count: int
    batch_count: int
    largest_batch: int
    states: tuple[tuple[str, str, str], ...]  # (old, new, reason)
    stats: ConnectorStats | None
    permit_times: tuple[float, ...]
    records: tuple[tuple[str, str, int], ...] = ()  # (code, data_type, sequential_id)
    empty_payloads: int = 0


@dataclass
class _Book:
    records: list[tuple[str, str, int]] = field(default_factory=list)
    batches: int = 0
    largest: int = 0
    states: list[tuple[str, str, str]] = field(default_factory=list)
    stats: ConnectorStats | None = None
    permits: list[float] = field(default_factory=list)
    empty_payloads: int = 0


class SinkActor(ActorTypeDispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.book = _Book()

    def receiveMsg_RecordBatch(self, msg: RecordBatch, sender: Any) -> None:
        self.book.batches += 1
        self.book.largest = max(self.book.largest, len(msg.records))
        for r in msg.records:
            self.book.records.append((r.code, r.data_type, r.sequential_id))
            if not r.payload:
                self.book.empty_payloads += 1

    def receiveMsg_ConnectRequest(self, msg: ConnectRequest, sender: Any) -> None:
        self.book.permits.append(time.monotonic())
        self.send(sender, ConnectPermit(msg.connection_id))

    def receiveMsg_StateChanged(self, msg: StateChanged, sender: Any) -> None:
        self.book.states.append((msg.old.value, msg.new.value, msg.reason))

    def receiveMsg_ConnectorStats(self, msg: ConnectorStats, sender: Any) -> None:
        self.book.stats = msg

    def receiveMsg_SinkQuery(self, msg: SinkQuery, sender: Any) -> None:
        b = self.book
        self.send(sender, SinkReport(
            len(b.records), b.batches, b.largest, tuple(b.states), b.stats, tuple(b.permits),
            tuple(b.records) if msg.detail else (), b.empty_payloads,
        ))
