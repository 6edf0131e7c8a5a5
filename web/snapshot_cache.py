"""The web side's only path to the actor system: a cache of status snapshots.

Health checks and dashboards may poll as often as they like; the actor system is asked at most
once per ``refresh_s`` (one request refreshes, concurrent ones get the cached copy at once), so
polling never adds load on the actors. A window of recent observations feeds the rates.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from domain.clock import utc_now_us
from messages import StatusSnapshot
from web.metrics_view import MetricsReading


@dataclass(frozen=True, slots=True)
class Observation:
    at_us: int  # wall clock of the web process when the snapshot arrived
    snapshot: StatusSnapshot
    reading: MetricsReading


class SnapshotCache:
    def __init__(
        self,
        provider: Callable[[], StatusSnapshot | None],
        reader: Callable[[], MetricsReading] = MetricsReading,
        *,
        refresh_s: float = 0.5,
        expire_s: float = 10.0,
        window_s: float = 5.0,
        first_wait_s: float = 3.0,
        clock: Callable[[], int] = utc_now_us,
    ) -> None:
        self._provider = provider
        self._reader = reader
        self._refresh_us = int(refresh_s * 1e6)
        self._expire_us = int(expire_s * 1e6)
        self._window_us = int(window_s * 1e6)
        self._first_wait_s = first_wait_s
        self._clock = clock
        self._lock = threading.Lock()
        self._window: deque[Observation] = deque()
        self._tried_us = 0
        self.provider_calls = 0

    def latest(self) -> Observation | None:
        """The newest observation, refreshed if due; None when none is recent enough to trust."""
        now = self._clock()
        if now - self._tried_us >= self._refresh_us:
            # Only the first caller of a period refreshes; the others answer from the cache.
            wait = self._first_wait_s if not self._window else 0.0
            if self._lock.acquire(timeout=wait) if wait else self._lock.acquire(blocking=False):
                try:
                    if self._clock() - self._tried_us >= self._refresh_us:
                        self._refresh()
                finally:
                    self._lock.release()
        newest = self._window[-1] if self._window else None
        if newest is None or self._clock() - newest.at_us > self._expire_us:
            return None
        return newest

    def window(self) -> list[Observation]:
        return list(self._window)

    def _refresh(self) -> None:
        self.provider_calls += 1
        try:
            snapshot = self._provider()
        except Exception:  # a failing ask must not break the endpoints; it reads as "no answer"
            logging.getLogger("krwfeed.web").exception("status query failed")
            snapshot = None
        self._tried_us = self._clock()
        if snapshot is None:
            return
        now = self._clock()
        self._window.append(Observation(now, snapshot, self._reader()))
        while len(self._window) > 2 and now - self._window[0].at_us > self._window_us:
            self._window.popleft()
