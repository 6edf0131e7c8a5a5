"""Reconnect pacing for one connection: the only place that decides when to retry and when to give up.

``ReconnectBudget`` holds the rules: delays 1 -> 2 -> 4 ... s capped at ``backoff_max_s`` (60 s at
most), ``max_reconnect_attempts`` retries (0 = forever), and a refill once a session delivered data
or stayed up for ``healthy_after_s``. So the delay grows only over attempts that fail or flap without
delivering anything (and such a connection still ends in FAILED), never across sessions that were
streaming: an exchange that drops a streaming connection every few seconds gets it back after about
``backoff_initial_s`` each time, paced by the supervisor's connect limits. ``Backoff`` adds the random source for the jitter (+/- ``backoff_jitter``), which spreads
the reconnects of many connections dropped at once. Both are pure: times are passed in.
"""
from __future__ import annotations

import random

from domain.config import ExchangeConfig

# A connection that stayed up this long is healthy again: its next drop starts from 1 s.
DEFAULT_HEALTHY_AFTER_S = 60.0


class ReconnectBudget:
    """Bounds reconnection: counts attempts and computes backoff delays.

    Every RECONNECTING -> CONNECTING move calls ``begin_attempt()``; when it returns False the
    connection goes to FAILED instead. Reaching CONNECTED does not refill the budget by itself: a
    connection that drops again right after connecting keeps counting, so a flapping
    RECONNECTING -> CONNECTING -> CONNECTED -> RECONNECTING cycle ends in FAILED after
    ``max_attempts``. Only a connection that stayed up for ``healthy_after_s`` resets the count.
    Times are passed in (seconds, any monotonic clock): this class reads no clock.
    """

    __slots__ = ("max_attempts", "healthy_after_s", "initial_s", "factor", "max_delay_s", "jitter",
                 "attempts", "_connected_at", "_streamed")

    def __init__(
        self,
        max_attempts: int,
        *,
        healthy_after_s: float = DEFAULT_HEALTHY_AFTER_S,
        initial_s: float = 1.0,
        factor: float = 2.0,
        max_delay_s: float = 60.0,
        jitter: float = 0.0,
    ) -> None:
        if max_attempts < 0 or healthy_after_s < 0 or initial_s <= 0 or factor < 1 or max_delay_s < initial_s:
            raise ValueError("invalid reconnect budget settings")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be a fraction in [0, 1)")
        self.max_attempts = max_attempts  # 0 = retry forever
        self.healthy_after_s = healthy_after_s
        self.initial_s = initial_s
        self.factor = factor
        self.max_delay_s = max_delay_s
        self.jitter = jitter
        self.attempts = 0
        self._connected_at: float | None = None
        self._streamed = False  # the current session delivered data

    @property
    def exhausted(self) -> bool:
        return self.max_attempts > 0 and self.attempts >= self.max_attempts

    def begin_attempt(self) -> bool:
        """Count one reconnection attempt; False means the budget is spent (go to FAILED)."""
        if self.exhausted:
            return False
        self.attempts += 1
        return True

    def connected(self, now_s: float) -> None:
        self._connected_at = now_s
        self._streamed = False

    def streamed(self) -> None:
        """The current session delivered data: when it drops, retrying starts again from the first delay."""
        self._streamed = True

    def reset(self) -> None:
        self.attempts = 0
        self._connected_at = None
        self._streamed = False

    def still_connected(self, now_s: float) -> None:
        """Call while the connection is up (e.g. on each pong): refills the budget once healthy."""
        if self._connected_at is not None and now_s - self._connected_at >= self.healthy_after_s:
            self.attempts = 0

    def disconnected(self, now_s: float) -> None:
        self.still_connected(now_s)
        if self._streamed:
            self.attempts = 0
        self._connected_at = None
        self._streamed = False

    def delay_s(self, jitter_sample: float = 0.0) -> float:
        """Backoff before the next attempt: 1 s, 2 s, 4 s ... after 0, 1, 2 ... attempts, capped.

        ``jitter_sample`` in [-1, 1] (e.g. ``random.uniform(-1, 1)``) spreads reconnect storms; the
        result never exceeds ``max_delay_s``.
        """
        base = min(self.initial_s * self.factor ** min(self.attempts, 64), self.max_delay_s)
        sample = min(max(jitter_sample, -1.0), 1.0)
        return float(min(max(base * (1 + self.jitter * sample), 0.0), self.max_delay_s))

    @classmethod
    def from_config(cls, config: ExchangeConfig, healthy_after_s: float = DEFAULT_HEALTHY_AFTER_S) -> ReconnectBudget:
        """A fresh attempt counter with this configuration's limits and backoff."""
        return cls(
            config.max_reconnect_attempts,
            healthy_after_s=healthy_after_s,
            initial_s=config.backoff_initial_s,
            factor=config.backoff_factor,
            max_delay_s=config.backoff_max_s,
            jitter=config.backoff_jitter,
        )


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
        return cls(ReconnectBudget.from_config(config, healthy_after_s), rng)

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

    def streamed(self) -> None:
        self.budget.streamed()

    def disconnected(self, now: float) -> None:
        self.budget.disconnected(now)
