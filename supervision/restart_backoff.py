"""How long the supervisor waits before re-creating a crashed child: doubling per crash, capped, and
reset once the child has stayed up for ``healthy_after_s``. Pure; the caller passes the clock."""
from __future__ import annotations


class RestartBackoff:
    def __init__(self, initial_s: float = 0.2, factor: float = 2.0, max_s: float = 30.0,
                 healthy_after_s: float = 60.0) -> None:
        self.initial_s, self.factor, self.max_s, self.healthy_after_s = initial_s, factor, max_s, healthy_after_s
        self._crashes: dict[str, int] = {}
        self._started_at: dict[str, float] = {}

    def started(self, name: str, now_s: float) -> None:
        self._started_at[name] = now_s

    def delay_after_exit(self, name: str, now_s: float) -> float:
        """Record a crash of ``name`` and return the wait before restarting it."""
        up_for = now_s - self._started_at.get(name, now_s)
        crashes = 0 if up_for >= self.healthy_after_s else self._crashes.get(name, 0)
        self._crashes[name] = crashes + 1
        return min(self.max_s, self.initial_s * self.factor ** crashes)

    def crashes(self, name: str) -> int:
        return self._crashes.get(name, 0)
