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


# Thespian formats every message it sends for its debug log, whether or not that level is on
# (TransmitIntent.identify). The batches below carry hundreds of records, so their repr is a
# one-line summary: the generated one cost about a tenth of a connector's CPU.
@dataclass(frozen=True, slots=True, repr=False)
class RecordBatch:
    records: tuple[EncodedRecord, ...]

    def __repr__(self) -> str:
        return f"RecordBatch({len(self.records)} records)"


@dataclass(frozen=True, slots=True)
class PullRecords:
    """A producer asks for at most ``max_items`` records of its data type (backpressure path)."""

    data_type: str
    max_items: int


@dataclass(frozen=True, slots=True, repr=False)
class PulledRecords:
    data_type: str
    records: tuple[EncodedRecord, ...]
    remaining: int

    def __repr__(self) -> str:
        return f"PulledRecords({self.data_type}, {len(self.records)} records, {self.remaining} remaining)"


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
