"""The backfill plan of one market: page REST trade ticks back to the last trade seen before a drop.

The exchange answers ``/v1/trades/ticks`` newest first, one UTC trade date per answer (``days_ago``
reaches back day by day, at most seven), ``cursor`` continuing after a given trade. Trade ids are
unique but not ordered, so the plan stops by trade time (a trade older than the last one seen, or
that trade itself, means the hole is covered) and dedupes by id. It ends in one of two ways:

* closed: every trade from the last one seen up to now is known; the ones not seen before are
  published, in trade-time order;
* a gap: REST no longer holds the trades (the horizon), the request budget is spent, or REST keeps
  failing. What was fetched is still published; ``from_time_us``..``to_time_us`` bound what may be
  missing, for a GAP event.

Nothing here does I/O or reads a clock: the caller sends the requests the plan asks for and hands
back the pages.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from domain.records import TradeRecord

MAX_COUNT = 500  # ticks per request, the documented maximum
MAX_DAYS_AGO = 7
DAY_US = 86_400_000_000

REASON_HORIZON = "horizon"  # REST no longer holds the trades since the last one seen
REASON_BUDGET = "budget"  # the reconnect's request budget was spent first
REASON_REST_FAILED = "rest_failed"  # REST kept failing
REASON_REJECTED = "rejected"  # every trade was fetched but some could not be read (counted as drops)


@dataclass(frozen=True, slots=True)
class TickRequest:
    """One ``/v1/trades/ticks`` request: ``exchanges.rest.trade_ticks_query(**fields)``."""

    code: str
    count: int
    cursor: int | None = None
    days_ago: int | None = None


@dataclass(frozen=True, slots=True)
class BackfillOutcome:
    code: str
    closed: bool  # nothing between the last trade seen and now is missing
    trades: tuple[TradeRecord, ...]  # to publish: not seen before, in (trade time, id) order
    from_time_us: int  # the interval the backfill covered, or (not closed) may be missing from
    to_time_us: int
    reason: str  # "" when closed; else one of the REASON_* values
    requests: int
    rejected: int  # ticks of the interval that could not be read


def _day(time_us: int) -> int:
    return time_us // DAY_US


class MarketBackfill:
    """Plan for one market; see the module text.

    ``last_seen_id`` / ``last_seen_time_us``: the last trade read before the drop. ``resume_time_us``:
    when the stream resumed (the upper end of the hole when nothing can be fetched). ``known``: ids
    already published (the last seen one, those streamed since the reconnect); a trade with such an
    id is not published again.
    """

    def __init__(self, code: str, last_seen_id: int, last_seen_time_us: int, resume_time_us: int,
                 known: Collection[int] | Callable[[int], bool] = (), count: int = MAX_COUNT,
                 max_failures: int = 3) -> None:
        if not 1 <= count <= MAX_COUNT:
            raise ValueError(f"count must be 1..{MAX_COUNT}, got {count}")
        self.code = code
        self.last_seen_id = last_seen_id
        self.last_seen_time_us = last_seen_time_us
        self.resume_time_us = max(resume_time_us, last_seen_time_us)
        self._known = known if callable(known) else set(known).__contains__
        self.count = count
        self.max_failures = max_failures
        self.requests = 0
        self.failures = 0
        self.rejected = 0
        self._found: dict[int, TradeRecord] = {}
        self._cursor: int | None = None
        self._latest_day: int | None = None  # UTC date of the market's latest trade (days_ago counts from it)
        self._day_paged: int | None = None  # UTC date the current pages belong to
        self._oldest_time_us: int | None = None  # the oldest trade time fetched so far
        self.outcome: BackfillOutcome | None = None

    # ---- asking ----------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.outcome is not None

    def next_request(self) -> TickRequest | None:
        """The request to send next, or None once the plan is done."""
        if self.outcome is not None:
            return None
        days_ago = None
        if self._latest_day is not None and self._day_paged is not None and self._day_paged < self._latest_day:
            days_ago = self._latest_day - self._day_paged
        return TickRequest(self.code, self.count, self._cursor, days_ago)

    # ---- answers ---------------------------------------------------------------
    def on_page(self, records: Sequence[TradeRecord], rejected: int = 0) -> None:
        """One answer to ``next_request()``: its records as sent (newest first) and how many of its
        ticks could not be read."""
        if self.outcome is not None:
            return
        self.requests += 1
        self.failures = 0
        size = len(records) + rejected
        reached = False
        for record in records:
            if record.trade_time_us < self.last_seen_time_us:
                reached = True  # older than the last trade seen: the hole is covered below this point
                continue
            if record.sequential_id == self.last_seen_id:
                reached = True  # the last trade seen itself: everything the exchange holds after it is in
                continue
            if self._oldest_time_us is None or record.trade_time_us < self._oldest_time_us:
                self._oldest_time_us = record.trade_time_us
            if record.sequential_id not in self._found and not self._known(record.sequential_id):
                self._found[record.sequential_id] = record
        # An unreadable tick may lie inside the hole (its time is unknown): counted against closing it.
        self.rejected += rejected
        stuck = False
        if records:
            newest_day = _day(records[0].trade_time_us)
            if self._latest_day is None:
                self._latest_day = newest_day
            if self._day_paged is None:
                self._day_paged = newest_day
            stuck = self._cursor is not None and records[-1].sequential_id == self._cursor
            self._cursor = records[-1].sequential_id
        if reached:
            self._finish(closed=self.rejected == 0, reason="" if self.rejected == 0 else REASON_REJECTED)
            return
        if size >= self.count:
            if stuck:  # the answer did not move past the cursor: paging on would repeat it forever
                self._finish(closed=False, reason=REASON_REST_FAILED)
            return  # a full page: the same date goes on below the cursor
        # A short page: this UTC date holds nothing older. Go on with the date before, unless the
        # last trade seen is on this date (then REST no longer holds what lies between).
        if self._day_paged is None:  # nothing at all on the latest date
            self._finish(closed=False, reason=REASON_HORIZON)
            return
        if self._day_paged <= _day(self.last_seen_time_us):
            self._finish(closed=False, reason=REASON_HORIZON)
            return
        assert self._latest_day is not None
        if self._latest_day - (self._day_paged - 1) > MAX_DAYS_AGO:
            self._finish(closed=False, reason=REASON_HORIZON)
            return
        self._day_paged -= 1
        self._cursor = None

    def on_failure(self) -> bool:
        """The request failed (5xx, timeout, unreadable answer). Returns True when the plan gave up
        (``max_failures`` in a row); otherwise the same request may be sent again."""
        if self.outcome is not None:
            return True
        self.requests += 1
        self.failures += 1
        if self.failures >= self.max_failures:
            self._finish(closed=False, reason=REASON_REST_FAILED)
            return True
        return False

    def abandon(self, reason: str = REASON_BUDGET) -> None:
        """Stop now (e.g. the request budget is spent): what was fetched is kept, the rest is a gap."""
        if self.outcome is None:
            self._finish(closed=False, reason=reason)

    def _finish(self, closed: bool, reason: str) -> None:
        trades = tuple(sorted(self._found.values(), key=lambda r: (r.trade_time_us, r.sequential_id)))
        if closed or reason == REASON_REJECTED:
            start, end = self.last_seen_time_us, self.resume_time_us
        else:
            # What may be missing: from the last trade seen up to the oldest trade fetched (or, with
            # nothing fetched, up to when the stream resumed).
            start = self.last_seen_time_us
            end = self._oldest_time_us if self._oldest_time_us is not None else self.resume_time_us
        self.outcome = BackfillOutcome(self.code, closed, trades, start, max(start, end), reason, self.requests,
                                       self.rejected)
