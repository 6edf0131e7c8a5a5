"""What every krwfeed actor shares: it dies with its parent, tells the supervisor which OS process
it runs in, and counts the Thespian messages it sends.

The count is how the data path's cost is watched: records travel on the record channel, so the
Thespian traffic of a running service is control, status and stats, and it must stay at a few
messages per second per actor whatever the load (``ingestion_actor_messages_sent_total``).
"""
from __future__ import annotations

import os
from typing import Any, ClassVar

from thespian.actors import ActorTypeDispatcher

from actors.process_guard import die_with_parent
from messages import ActorProcess
from monitoring.metrics import ACTOR_MESSAGES_SENT


class ServiceActor(ActorTypeDispatcher):
    role: ClassVar[str] = "actor"
    dies_with_parent: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.dies_with_parent:
            die_with_parent()
        self._sent = ACTOR_MESSAGES_SENT.labels(self.role)

    def send(self, targetAddr: Any, msg: Any) -> None:  # noqa: N803 - Thespian's own parameter names
        self._sent.inc()
        super().send(targetAddr, msg)

    def announce(self, supervisor: Any, name: str) -> None:
        """Tell the supervisor this actor's name, role and pid (the status lists every process)."""
        if supervisor is not None:
            self.send(supervisor, ActorProcess(name, self.role, os.getpid()))
