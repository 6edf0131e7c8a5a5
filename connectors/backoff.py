"""Reconnect pacing for one connection (seed S2.1-d/e/f/i, S1.3-d).

``messages.state.ReconnectBudget`` holds the rules: delays 1 -> 2 -> 4 ... s capped at
``backoff_max_s`` (60 s at most), ``max_reconnect_attempts`` retries (0 = forever), and a refill
only after the connection stayed up for ``healthy_after_s``, so a connection that flaps
(connects, drops at once) still ends in FAILED. This class adds the random source for the jitter
(+/- ``backoff_jitter``), which spreads the reconnects of many connections dropped at once.
"""
from __future__ import annotations

import random

from messages.config import ExchangeConfig
from messages.state import ReconnectBudget

# A connection that stayed up this long is healthy again: its next drop starts from 1 s.
DEFAULT_HEALTHY_AFTER_S = 60.0


class Backoff:
    def __init__(self, budget: ReconnectBudget, rng: random.Random | None = None) -> None:
        self.budget = budget
        self.rng = rng or random.Random()

    @classmethod
    def from_config(
        cls,
        config: ExchangeConfig,
        rng: random.Random | None = None,
        healthy_after_s: float = DEFAULT_HEALTHY_AFTER_S,
    ) -> Backoff:
        return cls(config.reconnect_budget(healthy_after_s=healthy_after_s), rng)

    @property
    def attempts(self) -> int:
        return self.budget.attempts

    def next_delay(self) -> float | None:
        """How long to wait before the next attempt, or None when no retry is left."""
        if self.budget.exhausted:
            return None
        return self.budget.delay_s(self.rng.uniform(-1.0, 1.0))

    def begin_attempt(self) -> bool:
        """Count one reconnection attempt; False when the budget is spent."""
        return self.budget.begin_attempt()

    def connected(self, now: float) -> None:
        self.budget.connected(now)

    def still_connected(self, now: float) -> None:
        self.budget.still_connected(now)

    def disconnected(self, now: float) -> None:
        self.budget.disconnected(now)
