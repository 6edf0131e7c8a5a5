"""Fair pacing of the backfill requests of one reconnect: every market in turn, under the REST rate
limit and a request budget.

The exchanges limit REST per client address and group (Upbit: 10 trade requests per second; Bithumb:
150), counted over a sliding second. The scheduler keeps its own sends below ``rate_per_second`` in
any one-second window, gives each market at most one request in flight and serves the markets round
robin, so a market with a deep hole does not starve the others. ``budget`` bounds the requests of the
whole reconnect: once it is spent, the markets still open end with a gap. A 429 pauses every send for
``pause_s``. The caller passes the clock (seconds, monotonic) to every call.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from domain.records import TradeRecord
from tape.backfill import REASON_BUDGET, BackfillOutcome, MarketBackfill, TickRequest

WINDOW_S = 1.0


@dataclass(frozen=True, slots=True)
class Poll:
    """What to do now: send ``requests``; then call ``poll`` again after ``wait_s`` seconds (None:
    only when an answer arrives, or never once ``finished``)."""

    requests: tuple[TickRequest, ...]
    wait_s: float | None


class BackfillScheduler:
    def __init__(self, rate_per_second: float, budget: int, pause_s: float = 1.0) -> None:
        if rate_per_second <= 0:
            raise ValueError(f"rate_per_second must be positive, got {rate_per_second}")
        if budget < 0:
            raise ValueError(f"budget must be >= 0, got {budget}")
        self.limit = max(1, int(rate_per_second))  # requests in any one-second window
        self.budget = budget
        self.pause_s = pause_s
        self.sent = 0
        self._plans: dict[str, MarketBackfill] = {}
        self._turns: deque[str] = deque()  # markets waiting for their next request, in turn order
        self._in_flight: set[str] = set()
        self._stamps: deque[float] = deque()  # send times within the last window
        self._paused_until = 0.0
        self._finished: list[BackfillOutcome] = []
        self._collected: set[str] = set()

    def add(self, plan: MarketBackfill) -> None:
        """A market of the reconnect to backfill (one plan per code; a later one replaces it)."""
        self._plans[plan.code] = plan
        self._collected.discard(plan.code)
        if plan.code not in self._turns and plan.code not in self._in_flight:
            self._turns.append(plan.code)

    @property
    def finished(self) -> bool:
        return all(plan.done for plan in self._plans.values())

    def poll(self, now: float) -> Poll:
        """The requests that may go now, fairly, within the rate limit and the budget."""
        while self._stamps and now - self._stamps[0] >= WINDOW_S:
            self._stamps.popleft()
        out: list[TickRequest] = []
        if now >= self._paused_until:
            while self._turns and len(self._stamps) < self.limit:
                code = self._turns.popleft()
                plan = self._plans[code]
                if plan.done:
                    continue
                if self.sent >= self.budget:
                    self._turns.appendleft(code)
                    self._spend_out()
                    break
                request = plan.next_request()
                if request is None:
                    self._collect(plan)
                    continue
                out.append(request)
                self.sent += 1
                self._stamps.append(now)
                self._in_flight.add(code)
        return Poll(tuple(out), self._wait(now))

    def _wait(self, now: float) -> float | None:
        if not any(not self._plans[code].done for code in self._turns):
            return None  # nothing waits for a turn: the next poll follows an answer
        if now < self._paused_until:
            return self._paused_until - now
        if len(self._stamps) >= self.limit:
            return max(0.0, self._stamps[0] + WINDOW_S - now)
        return 0.0

    def _spend_out(self) -> None:
        """The budget is spent: every market without a request in flight ends now with a gap."""
        for code in list(self._turns):
            plan = self._plans[code]
            plan.abandon(REASON_BUDGET)
            self._collect(plan)
        self._turns.clear()

    def abandon_all(self, reason: str) -> None:
        """End every market still open now with a gap of ``reason`` (answers still in flight for
        them are then ignored by the caller): a new reconnect replaces this one."""
        for plan in self._plans.values():
            plan.abandon(reason)
            self._collect(plan)
        self._turns.clear()
        self._in_flight.clear()

    # ---- answers ---------------------------------------------------------------
    def on_page(self, code: str, records: Sequence[TradeRecord], rejected: int = 0) -> None:
        plan = self._answered(code)
        plan.on_page(records, rejected)
        self._requeue(plan)

    def on_failure(self, code: str) -> None:
        """The request of ``code`` failed (5xx, timeout, unreadable): retried later, or the market
        ends with a gap after too many failures in a row."""
        plan = self._answered(code)
        plan.on_failure()
        self._requeue(plan)

    def on_rate_limited(self, code: str, now: float) -> None:
        """The exchange answered 429: the request is sent again after a pause of every send (it is
        not the market's failure, and it costs no budget)."""
        self._answered(code)
        self.sent -= 1
        self._paused_until = max(self._paused_until, now + self.pause_s)
        self._turns.appendleft(code)

    def _answered(self, code: str) -> MarketBackfill:
        if code not in self._in_flight:
            raise KeyError(f"no request of {code!r} is in flight")
        self._in_flight.discard(code)
        return self._plans[code]

    def _requeue(self, plan: MarketBackfill) -> None:
        if plan.done:
            self._collect(plan)
        elif self.sent >= self.budget:
            plan.abandon(REASON_BUDGET)
            self._collect(plan)
        else:
            self._turns.append(plan.code)  # to the back: every other market gets its turn first

    def _collect(self, plan: MarketBackfill) -> None:
        if plan.outcome is not None and plan.code not in self._collected:
            self._collected.add(plan.code)
            self._finished.append(plan.outcome)

    def take_outcomes(self) -> list[BackfillOutcome]:
        """Outcomes of the markets finished since the last call, in the order they finished."""
        out, self._finished = self._finished, []
        return out
