"""Messages the actors exchange. Each is a small frozen dataclass (pickled between processes).

Flow: supervisor --StartConnector--> connector --RecordBatch--> buffer <--PullRecords-- producer
      connector --StateChanged/ConnectorStats--> supervisor; producer --PublishReport--> supervisor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from messages.records import EncodedRecord
from messages.state import ConnectionState


# --- supervisor lifecycle -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartService:
    """Sent once by the composition root; a second one is answered with ``ServiceError``."""

    settings: Any  # the validated settings object (plain data, picklable)


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


# --- connectors ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartConnector:
    connection_id: str  # e.g. "upbit-0"
    exchange_config: Any  # messages.config.ExchangeConfig
    buffer: Any  # ActorAddress of the buffer
    supervisor: Any  # ActorAddress of the supervisor


@dataclass(frozen=True, slots=True)
class ConnectPermit:
    """The supervisor's connect-rate limiter lets one connection attempt go ahead."""

    connection_id: str


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """A connector asks for a permit before each (re)connection attempt."""

    connection_id: str
    exchange: str


@dataclass(frozen=True, slots=True)
class StopConnector:
    pass


@dataclass(frozen=True, slots=True)
class StateChanged:
    connection_id: str
    exchange: str
    old: ConnectionState
    new: ConnectionState
    reason: str
    at_us: int
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class ConnectorStats:
    """Cumulative counters of one connection, sent with each batch flush (cheap, idempotent)."""

    connection_id: str
    exchange: str
    codes: tuple[str, ...]
    received: int
    malformed: int
    duplicates: int
    unsubscribed: int
    ignored_types: int
    reconnects: int
    last_message_us: dict[str, int] = field(default_factory=dict)  # per code


@dataclass(frozen=True, slots=True)
class SubscriptionQuery:
    pass


@dataclass(frozen=True, slots=True)
class SubscriptionReport:
    connection_id: str
    tickets: dict[str, tuple[str, ...]]  # ticket -> subscribed codes (active ticket last)


# --- buffer --------------------------------------------------------------------------------
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


# --- producers -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartProducer:
    data_type: str
    kafka: Any  # KafkaSettings (plain data)
    buffer: Any
    supervisor: Any


@dataclass(frozen=True, slots=True)
class PublishReport:
    data_type: str
    succeeded: int  # cumulative
    failed: int  # cumulative
    consecutive_failures: int
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class FlushProducer:
    timeout_s: float = 3.0


@dataclass(frozen=True, slots=True)
class ProducerFlushed:
    data_type: str
    pending: int


# --- status --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StatusQuery:
    pass


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """``get_status()``: everything the health endpoint and the dashboard show.

    ``connections``: connection_id -> {exchange, state, codes, received, malformed, duplicates,
    reconnects, last_message_us, since_us, reason}; ``markets``: "exchange:code" -> last_message_us;
    ``buffer``: {depth: {...}, dropped: {...}}; ``producers``: data_type -> {succeeded, failed,
    consecutive_failures, last_error}.
    """

    started_us: int
    now_us: int
    running: bool
    connections: dict[str, dict[str, Any]]
    markets: dict[str, int]
    buffer: dict[str, Any]
    producers: dict[str, dict[str, Any]]
    total_received: int
    total_published: int
