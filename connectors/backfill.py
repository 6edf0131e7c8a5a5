"""The REST backfill of one connection: after a reconnect, the trades its markets made while it was
away, fetched from ``/v1/trades/ticks``. Pure: the caller sends the requests, hands back the
answers and passes the clock; nothing here opens a socket or reads a clock.

``begin`` starts one reconnect's backfill: every code of the connection gets a ``MarketBackfill``
plan from the last trade read before the drop (its time and id, ``FramePipeline.last_trades``);
a code that had no trade yet starts from when the previous connection subscribed, with no id.
A ``BackfillScheduler`` paces the requests under this connection's share of the exchange's per-IP
REST rate and the reconnect's request budget. ``poll`` says which requests go now and when to poll
again; ``on_answer`` takes each answer (a page, a failure or a 429); ``take_outcomes`` returns the
markets finished since, each closed (nothing missing) or a gap with its reason and interval.

A reconnect while a backfill is still running ends the markets still open as gaps (reason
``interrupted``) and starts over from the new last trades; answers to the old requests are ignored.
Every request, failure, 429, recovered trade and gap is counted in ``BackfillCounts``.
"""
from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

from domain.config import DEFAULT_BACKFILL_BUDGET
from domain.exceptions import ValidationException
from domain.records import ConnectionEventKind, ConnectionEventRecord, Exchange
from exchanges.rest import TRADE_REQUESTS_PER_SECOND, TRADE_TICKS_PATH, parse_trade_ticks, trade_ticks_query
from tape.backfill import BackfillOutcome, MarketBackfill
from tape.schedule import BackfillScheduler

REASON_INTERRUPTED = "interrupted"  # another reconnect came before this one's backfill ended
RATE_LIMIT_PAUSE_S = 1.0  # a 429 without Retry-After pauses every request this long
MAX_PAUSE_S = 10.0


@dataclass(frozen=True, slots=True)
class RestCall:
    """One GET to send: ``tag`` comes back with its answer."""

    tag: tuple[int, str]  # (the reconnect's number, market code)
    path: str
    query: dict[str, str]


@dataclass(slots=True)
class BackfillCounts:
    """Cumulative counts of one connection's backfills."""

    runs: int = 0  # reconnects that started a backfill
    requests: int = 0  # answers received (pages, failures and 429s)
    failures: int = 0  # requests that failed (5xx, timeout, unreadable answer)
    rate_limited: int = 0  # answers 429
    recovered: int = 0  # trades published from REST (after dedupe)
    closed: int = 0  # markets whose hole was closed
    gaps: int = 0  # markets that ended with a gap
    gap_reasons: dict[str, int] | None = None

    def gap(self, reason: str) -> None:
        self.gaps += 1
        if self.gap_reasons is None:
            self.gap_reasons = {}
        self.gap_reasons[reason] = self.gap_reasons.get(reason, 0) + 1


REST_WORKERS = 4  # GETs under way at once per connection: one slow answer must not hold back the rest
RATE_MARGIN = 0.9  # of the limit: the exchange counts arrivals, which jitter against our send times


def rest_rate(exchange: str, share: float) -> float:
    """This connection's requests per second: its share of the exchange's per-IP trade limit, with
    a margin (two connections each at exactly half the limit drew a 429 for one request in six)."""
    limit = TRADE_REQUESTS_PER_SECOND[Exchange(exchange)]
    return max(1.0, limit * RATE_MARGIN * min(1.0, max(0.0, share)))


def supports_backfill(exchange: str) -> bool:
    return exchange in {e.value for e in TRADE_REQUESTS_PER_SECOND}


def outcome_event(exchange: str, connection_id: str, outcome: BackfillOutcome, recovered: int,
                  now_us: int) -> ConnectionEventRecord:
    """The event of one market's backfill: BACKFILLED (nothing missing from ``from``..``to``, the
    interval covered) or GAP (trades of ``from``..``to`` may be missing, and why)."""
    kind = ConnectionEventKind.BACKFILLED if outcome.closed else ConnectionEventKind.GAP
    return ConnectionEventRecord(
        Exchange(exchange), connection_id, kind, now_us, codes=(outcome.code,), from_time_us=outcome.from_time_us,
        to_time_us=outcome.to_time_us, trades_recovered=recovered, gap_closed=outcome.closed, reason=outcome.reason)


class ConnectionBackfill:
    def __init__(self, exchange: str, rate_per_second: float, budget: int = DEFAULT_BACKFILL_BUDGET) -> None:
        self.exchange = Exchange(exchange)
        self.rate_per_second = rate_per_second
        self.budget = budget
        self.counts = BackfillCounts()
        self.run = 0
        self._scheduler: BackfillScheduler | None = None
        self._outcomes: list[BackfillOutcome] = []
        # The scheduler allows a second's requests at once; they leave evenly spaced instead, so
        # that answers' varying delays cannot bunch more of them into one of the exchange's windows.
        self._interval_s = 1.0 / max(1.0, rate_per_second)
        self._held: deque[RestCall] = deque()
        self._next_send = 0.0

    @property
    def active(self) -> bool:
        return self._scheduler is not None and not self._scheduler.finished

    def begin(self, codes: Iterable[str], last_trades: Mapping[str, tuple[int, int]], since_us: int,
              resume_us: int, known: Callable[[str, int], bool]) -> None:
        """One reconnect: backfill ``codes`` from their last trades (``since_us`` for a code with
        none) up to ``resume_us``. ``known(code, id)`` says a trade was already forwarded."""
        if self._scheduler is not None:
            self._scheduler.abandon_all(REASON_INTERRUPTED)
            self._outcomes.extend(self._scheduler.take_outcomes())
        self.run += 1
        self.counts.runs += 1
        self._held.clear()  # requests of the reconnect given up
        scheduler = BackfillScheduler(self.rate_per_second, self.budget, RATE_LIMIT_PAUSE_S)
        for code in codes:
            last_time_us, last_id = last_trades.get(code, (since_us, 0))
            scheduler.add(MarketBackfill(code, last_id, last_time_us, resume_us, known=functools.partial(known, code)))
        self._scheduler = scheduler

    def poll(self, now: float) -> tuple[list[RestCall], float | None]:
        """The requests to send now, and when to poll again (None: on the next answer only)."""
        scheduler = self._scheduler
        if scheduler is None:
            return [], None
        poll = scheduler.poll(now)
        self._held.extend(RestCall((self.run, r.code), TRADE_TICKS_PATH,
                                   trade_ticks_query(r.code, r.count, r.cursor, r.days_ago)) for r in poll.requests)
        self._outcomes.extend(scheduler.take_outcomes())
        calls: list[RestCall] = []
        while self._held and now >= self._next_send:
            calls.append(self._held.popleft())
            self._next_send = max(now, self._next_send) + self._interval_s
        if self._held:
            held_wait = self._next_send - now
            return calls, held_wait if poll.wait_s is None else min(held_wait, poll.wait_s)
        return calls, None if scheduler.finished else poll.wait_s

    def on_answer(self, tag: Hashable, status: int | None, body: bytes, now: float, received_us: int,
                  retry_after_s: float | None = None) -> None:
        """One answer: HTTP ``status`` (None when none came) and its body."""
        scheduler = self._scheduler
        if scheduler is None or not isinstance(tag, tuple) or len(tag) != 2 or tag[0] != self.run:
            return  # an answer to a reconnect already given up
        code = str(tag[1])
        self.counts.requests += 1
        if status == 429:
            self.counts.rate_limited += 1
            scheduler.pause_s = min(MAX_PAUSE_S, max(RATE_LIMIT_PAUSE_S, retry_after_s or 0.0))
            scheduler.on_rate_limited(code, now)
        elif status != 200:
            self.counts.failures += 1
            scheduler.on_failure(code)
        else:
            try:
                page = parse_trade_ticks(body, self.exchange, received_us, code=code)
            except ValidationException:
                self.counts.failures += 1
                scheduler.on_failure(code)
            else:
                scheduler.on_page(code, page.records, len(page.rejected))
        self._outcomes.extend(scheduler.take_outcomes())

    def abandon(self, reason: str) -> None:
        """End every market still open now (the connection stops): what was fetched is kept."""
        if self._scheduler is not None:
            self._scheduler.abandon_all(reason)
            self._outcomes.extend(self._scheduler.take_outcomes())
            self._scheduler = None

    def take_outcomes(self) -> list[BackfillOutcome]:
        """Markets finished since the last call; each counted as closed or as a gap."""
        out, self._outcomes = self._outcomes, []
        for outcome in out:
            if outcome.closed:
                self.counts.closed += 1
            else:
                self.counts.gap(outcome.reason)
        return out
