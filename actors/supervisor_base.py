"""What the supervisor's parts share: its state, and the Thespian calls they make on the actor."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from actors.children import Children
from messages.settings import Settings
from pipeline.connect_pacer import ConnectPacer
from pipeline.progress_meter import ProgressMeter
from pipeline.restart_backoff import RestartBackoff
from pipeline.status_book import StatusBook
from pipeline.stop_sequence import StopSequence

STOP_TICK = "stop-tick"
STOP_TICK_S = 0.1


def supervisor_log() -> logging.Logger:  # at call time: module-level loggers bypass Thespian's forwarding
    return logging.getLogger("krwfeed.supervisor")


class SupervisorBase:
    """Mixed into ``Supervisor`` (an ``ActorTypeDispatcher``), which sets these attributes up."""

    settings: Settings | None
    owner: Any
    children: Children
    book: StatusBook
    pacer: ConnectPacer
    restarts: RestartBackoff
    meter: ProgressMeter
    stop: StopSequence | None
    fatal: str
    _kafka: Any
    _pace_armed: bool
    awaiting_init: set[str]  # connectors whose first message has not arrived yet (start order)
    publishing_started: bool
    start_began: float

    if TYPE_CHECKING:  # provided by thespian's Actor at run time
        myAddress: Any

        def send(self, target: Any, message: Any) -> None: ...

        def createActor(self, actorClass: Any, *args: Any, **kwargs: Any) -> Any: ...

        def wakeupAfter(self, timePeriod: Any, payload: Any = None) -> None: ...

        def _advance(self, actions: list[str]) -> None: ...  # StopDriving's
