"""Messages the actors exchange. Each is a small frozen dataclass (pickled between processes).

Flow: supervisor --StartConnector/StartBuffer/StartProducer--> children;
      connector --StateChanged/ConnectorStats--> supervisor; producer --PublishReport--> supervisor;
      connector --PublishEvent--> events producer --EventsReport--> supervisor.
Records do not travel as actor messages: connector -> buffer -> producer is the record channel
(``actors.record_channel``).

One module per flow: ``service`` (start/stop), ``connector``, ``buffer``, ``producer``, ``events``,
``status``.
Every message is importable from here: ``from messages import StartBuffer``.
"""
from __future__ import annotations

from messages.buffer import (
    BufferDrained,
    BufferStats,
    DrainBuffer,
    StartBuffer,
)
from messages.connector import (
    ConnectorStats,
    ConnectPermit,
    ConnectRequest,
    StartConnector,
    StateChanged,
    StopConnector,
    SubscriptionQuery,
    SubscriptionReport,
    TicketReport,
    UpdateCodes,
)
from messages.events import EventsReport, EventsRoute, PublishEvent, StartEvents
from messages.producer import (
    FlushProducer,
    ProducerFlushed,
    PublishReport,
    StartProducer,
)
from messages.service import (
    FatalError,
    ServiceError,
    ServiceStarted,
    ServiceStopped,
    StartService,
    StopService,
)
from messages.status import (
    ActorProcess,
    StatusQuery,
    StatusSnapshot,
)

__all__ = [
    "StartService",
    "ServiceStarted",
    "ServiceError",
    "StopService",
    "ServiceStopped",
    "FatalError",
    "StartConnector",
    "ConnectPermit",
    "ConnectRequest",
    "StopConnector",
    "StateChanged",
    "ConnectorStats",
    "SubscriptionQuery",
    "SubscriptionReport",
    "TicketReport",
    "UpdateCodes",
    "StartBuffer",
    "BufferStats",
    "DrainBuffer",
    "BufferDrained",
    "StartProducer",
    "PublishReport",
    "FlushProducer",
    "ProducerFlushed",
    "PublishEvent",
    "StartEvents",
    "EventsRoute",
    "EventsReport",
    "ActorProcess",
    "StatusQuery",
    "StatusSnapshot",
]
