"""A real actor standing in for the buffer and the supervisor in connector tests.

It listens on a record channel as the buffer does (``SinkListen``), grants every ConnectRequest
at once, keeps every record it is sent (code, data type, sequential id), every StateChanged and
the last ConnectorStats, and answers ``SinkQuery``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from thespian.actors import ActorTypeDispatcher, ThespianWatch, WatchMessage

from actors.record_channel import RECORDS, ChannelEnd, ChannelListener, decode_records
from messages import ConnectorStats, ConnectPermit, ConnectRequest, StateChanged


@dataclass(frozen=True)
class SinkListen:
    path: str  # where to listen for the connector's record channel; answered with "listening"


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
        self.listener: ChannelListener | None = None
        self.peers: list[ChannelEnd] = []

    def _watch(self) -> ThespianWatch | None:
        fds = [fd for fd in [self.listener.fileno() if self.listener else None]
               + [p.fileno() for p in self.peers] if fd is not None]
        return ThespianWatch(fds) if fds else None

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> ThespianWatch | None:
        return self._watch()

    def receiveMsg_SinkListen(self, msg: SinkListen, sender: Any) -> ThespianWatch | None:
        self.listener = ChannelListener(msg.path)
        self.send(sender, "listening")
        return self._watch()

    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender: Any) -> ThespianWatch | None:
        if self.listener is not None:
            self.peers.extend(self.listener.accept_all())
        for peer in list(self.peers):
            for kind, body in peer.read():
                if kind == RECORDS:
                    self._keep(decode_records(body))
            if peer.closed:
                self.peers.remove(peer)
        return self._watch()

    def _keep(self, records: list[Any]) -> None:
        self.book.batches += 1
        self.book.largest = max(self.book.largest, len(records))
        for r in records:
            self.book.records.append((r.code, r.data_type, r.sequential_id))
            if not r.raw_data:
                self.book.empty_payloads += 1

    def receiveMsg_ConnectRequest(self, msg: ConnectRequest, sender: Any) -> ThespianWatch | None:
        self.book.permits.append(time.monotonic())
        self.send(sender, ConnectPermit(msg.connection_id))
        return self._watch()

    def receiveMsg_StateChanged(self, msg: StateChanged, sender: Any) -> ThespianWatch | None:
        self.book.states.append((msg.old.value, msg.new.value, msg.reason))
        return self._watch()

    def receiveMsg_ConnectorStats(self, msg: ConnectorStats, sender: Any) -> ThespianWatch | None:
        self.book.stats = msg
        return self._watch()

    def receiveMsg_SinkQuery(self, msg: SinkQuery, sender: Any) -> ThespianWatch | None:
        b = self.book
        self.send(sender, SinkReport(
            len(b.records), b.batches, b.largest, tuple(b.states), b.stats, tuple(b.permits),
            tuple(b.records) if msg.detail else (), b.empty_payloads,
        ))
        return self._watch()
