"""Between the supervisor and the connectors: start, connect permits, stop, state and counters."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.settings import DATA_PATH_LINGER_MS
from domain.state import ConnectionState


@dataclass(frozen=True, slots=True)
class StartConnector:
    connection_id: str  # e.g. "upbit-0"
    exchange_config: Any  # domain.config.ExchangeConfig
    channel_path: str  # the buffer's record-channel socket (actors.record_channel)
    supervisor: Any  # ActorAddress of the supervisor
    batch_window_s: float = DATA_PATH_LINGER_MS / 1000  # one channel write per this long at most (publishers.kafka_batching)
    events: Any = None  # ActorAddress of the events producer (PublishEvent), None when events are off
    # This connection's share of its exchange's per-IP REST rate (1 / the exchange's connections),
    # so the backfills of all of an exchange's connections together stay under the limit.
    rest_share: float = 1.0


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
    undeliverable: int = 0  # records that could not be handed to the buffer (counted as dropped)
    # The REST backfill after reconnects: trades recovered (published), requests answered, of those
    # failed and answered 429, and markets that ended with a gap (something may be missing).
    backfilled: int = 0
    rest_requests: int = 0
    rest_failures: int = 0
    rest_rate_limited: int = 0
    gaps: int = 0


@dataclass(frozen=True, slots=True)
class SubscriptionQuery:
    pass


@dataclass(frozen=True, slots=True)
class TicketReport:
    """One subscription request of a connection and whether data has come under it.

    Times are UTC microseconds since the Unix epoch; 0 means "not yet"."""

    ticket: str
    codes: tuple[str, ...]
    data_types: tuple[str, ...]
    sent_us: int  # when the request was written to the socket
    first_data_us: int = 0  # when the first record forwarded under this ticket was read
    first_data_by_type_us: dict[str, int] = field(default_factory=dict)  # data type -> its first record


@dataclass(frozen=True, slots=True)
class SubscriptionReport:
    """A connector's recent subscription requests, oldest first: the answer to ``SubscriptionQuery``,
    and sent to the supervisor whenever a ticket is sent or first gets data of a type."""

    connection_id: str
    tickets: dict[str, tuple[str, ...]]  # ticket -> subscribed codes (active ticket last)
    entries: tuple[TicketReport, ...] = ()  # the same tickets with their times


@dataclass(frozen=True, slots=True)
class UpdateCodes:
    """Supervisor -> connector: the market list changed; follow exactly ``codes`` from now on (the
    complete list: a subscription request replaces the connection's whole subscription)."""

    codes: tuple[str, ...]
