"""What the connector actor's parts share: its state, and the Thespian calls they make on the actor."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from connectors.batch_window import BatchWindow
from connectors.websocket_connector import WebSocketConnector
from messages.protocol import ConnectorStats, StartConnector


def connector_log() -> logging.Logger:  # at call time: module-level loggers bypass Thespian's forwarding
    return logging.getLogger("krwfeed.connector")


class ConnectorActorBase:
    """Mixed into ``ConnectorActor`` (an ``ActorTypeDispatcher``), which sets these attributes up."""

    start: StartConnector | None
    connector: WebSocketConnector | None
    window: BatchWindow
    stopped: bool
    awaiting_permit: int  # the permit request's number, 0 when not waiting
    permit_requests: int
    retry_armed: bool
    flush_armed: bool
    last_stats: ConnectorStats | None
    last_stats_at: float

    if TYPE_CHECKING:  # provided by thespian's Actor at run time, and by the other parts
        myAddress: Any

        def send(self, target: Any, message: Any) -> None: ...

        def wakeupAfter(self, timePeriod: Any, payload: Any = None) -> None: ...

        def _arm_retry(self) -> None: ...  # ConnectPacing's
