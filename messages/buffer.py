"""Between the supervisor and the buffer: start, stats and the stop's drain. Records themselves travel
on the record channel (``actors.record_channel``), not as actor messages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StartBuffer:
    """Configures the buffer; it then sends ``BufferStats`` to ``supervisor`` every ``stats_interval_s``."""

    settings: Any  # domain.settings.BufferSettings
    supervisor: Any  # ActorAddress of the supervisor
    channel_path: str  # where the buffer listens for its record channels
    stats_interval_s: float = 0.5


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
