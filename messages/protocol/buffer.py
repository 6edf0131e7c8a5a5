"""Into and out of the buffer: connectors push batches, producers pull them, the stop drains it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from messages.records import EncodedRecord


@dataclass(frozen=True, slots=True)
class StartBuffer:
    """Configures the buffer; it then sends ``BufferStats`` to ``supervisor`` every ``stats_interval_s``."""

    settings: Any  # messages.settings.BufferSettings
    supervisor: Any  # ActorAddress of the supervisor
    stats_interval_s: float = 0.5


@dataclass(frozen=True, slots=True)
class RecordBatch:
    records: tuple[EncodedRecord, ...]


@dataclass(frozen=True, slots=True)
class PullRecords:
    """A producer asks for at most ``max_items`` records of its data type (backpressure path)."""

    data_type: str
    max_items: int


@dataclass(frozen=True, slots=True)
class PulledRecords:
    data_type: str
    records: tuple[EncodedRecord, ...]
    remaining: int


@dataclass(frozen=True, slots=True)
class BufferStats:
    depth: dict[str, int]  # data_type -> queued
    dropped: dict[str, int]  # "reason:data_type" -> count


@dataclass(frozen=True, slots=True)
class DrainBuffer:
    """Shutdown: hand out everything left, then report ``BufferDrained``."""

    pass


@dataclass(frozen=True, slots=True)
class BufferDrained:
    left: int
