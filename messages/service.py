"""Starting and stopping the service: the composition root and the supervisor."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class StartService:
    """Sent once by the composition root; a second one is answered with ``ServiceError``."""

    settings: Any  # the validated settings object (plain data, picklable)
    runtime_dir: str = ""  # a directory private to the service's user: the record channel's socket lives here
    # the actor class of each child kind ("connector", "buffer", "producer"), chosen by the composition root
    actor_classes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceStarted:
    connections: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServiceError:
    reason: str


@dataclass(frozen=True, slots=True)
class StopService:
    """Graceful stop: connectors stop, the buffer drains into Kafka, producers flush."""

    deadline_s: float = 8.0


@dataclass(frozen=True, slots=True)
class ServiceStopped:
    flushed: int
    left_in_buffer: int


@dataclass(frozen=True, slots=True)
class FatalError:
    """The service must exit non-zero (e.g. N consecutive publish failures)."""

    reason: str
