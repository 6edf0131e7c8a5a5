"""Message accounting for fault scenarios: where did every message the simulator sent end up? Pure.

Inputs: the simulator's sent log (per exchange: trade ``sequential_id``s per code, orderbook counts
per code), what was read back from Kafka, and krwfeed's own counters (records received from the
exchanges per data type, records dropped per (data type, reason); Kafka delivery failures enter as
reason ``publish_failed``).

Trades are accounted exactly: each (exchange, code, sequential_id) is one unit. The simulator may
send a trade twice (the SNAPSHOT trade repeated after a resubscribe): it is still one unit, and
krwfeed's ``duplicate`` drops of such copies do not explain any missing unit. Orderbooks carry no
unique id, so they are accounted by counts per (exchange, code); a book read back twice (identical
apart from krwfeed's receive time) is a duplicate.

    missing     = sent units not found in Kafka
    counted     = krwfeed's drops of units (every reason except the copy reasons)
    ambiguous   = units krwfeed counted as ``publish_failed`` that are in Kafka all the same
                  (retries=0: a timed-out request may still have been written); reported, not a loss
    unread      = units sent but never read by krwfeed (sent - received); only allowed where the
                  scenario closes connections under a live stream (a graceful stop), else it is a loss
    unaccounted = missing - counted + ambiguous - unread, which must be 0
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TRADE, ORDERBOOK = "trade", "orderbook"
PUBLISH_FAILED = "publish_failed"
# Drops of a repeated copy of a unit, not of the unit itself.
COPY_REASONS = frozenset({"duplicate"})

TradeKey = tuple[str, str, int]  # (exchange, code, sequential_id)
BookKey = tuple[str, str]  # (exchange, code)


@dataclass(frozen=True)
class KrwfeedCounters:
    received: Mapping[str, int]  # data_type -> records read from the exchanges (after dedupe)
    dropped: Mapping[tuple[str, str], int]  # (data_type, reason) -> records


@dataclass(frozen=True)
class Account:
    data_type: str
    sent: int
    delivered: int  # distinct sent units found in Kafka
    duplicates: int  # extra copies in Kafka
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> records, copy reasons included
    ambiguous: int = 0
    unread: int = 0
    extra: int = 0  # in Kafka but never sent (nor, for trades, ever made by the simulator)
    recovered: int = 0  # trades never sent on the socket, made by the simulator, fetched over REST
    unaccounted: int = 0
    overcounted: int = 0  # counted as dropped (not publish_failed) yet in Kafka

    @property
    def ok(self) -> bool:
        return self.unaccounted == 0 and self.duplicates == 0 and self.extra == 0 and self.overcounted == 0


def _settle(data_type: str, sent: int, delivered: int, duplicates: int, extra: int,
            counters: KrwfeedCounters, allow_unread: bool, recovered: int = 0, rest_received: int = 0,
            rest_sent: int = 0) -> Account:
    dropped = {reason: n for (dt, reason), n in counters.dropped.items() if dt == data_type and n}
    counted = sum(n for reason, n in dropped.items() if reason not in COPY_REASONS)
    failed = dropped.get(PUBLISH_FAILED, 0)
    missing = sent - delivered
    received = counters.received.get(data_type)
    if received is not None:
        # What the socket delivered: the backfill's records count as received too. A frame left unread
        # at a drop whose trade the backfill then fetched over REST (``rest_sent``) is not lost.
        received -= rest_received
    unread = max(0, sent - received - rest_sent) if (allow_unread and received is not None) else 0
    # What krwfeed says it lost (plus what it never read) against what is really missing.
    excess = counted + unread - missing
    ambiguous = min(max(excess, 0), failed)
    return Account(
        data_type=data_type, sent=sent, delivered=delivered, duplicates=duplicates, dropped=dropped,
        ambiguous=ambiguous, unread=unread, extra=extra, recovered=recovered,
        unaccounted=max(-excess, 0), overcounted=max(excess, 0) - ambiguous,
    )


def account_trades(sent_logs: Iterable[Mapping[str, Any]], kafka_trades: Iterable[TradeKey],
                   counters: KrwfeedCounters, allow_unread: bool = False,
                   made: Iterable[TradeKey] = (), rest_trades: Iterable[TradeKey] = ()) -> Account:
    """``made``: every trade the simulator's markets made (its tape), sent or not; ``rest_trades``:
    the trade records in Kafka that the backfill fetched over REST (header ``source: rest``).

    A trade in Kafka that was never sent on a socket is accounted as recovered when the simulator
    made it (the backfill after a reconnect found it over REST), and as extra (invented) when not.
    A trade sent, missed on the socket and then recovered over REST is simply delivered."""
    sent: set[TradeKey] = set()
    for log in sent_logs:
        exchange = str(log["exchange"])
        for code, sids in log["trades"].items():
            sent.update((exchange, code, int(sid)) for sid in sids)
    seen = Counter(kafka_trades)
    found = set(seen)
    never_sent = found - sent
    recovered = never_sent & set(made)
    rest = list(rest_trades)
    return _settle(TRADE, len(sent), len(found & sent), sum(seen.values()) - len(seen),
                   len(never_sent - recovered), counters, allow_unread, len(recovered), len(rest),
                   len(set(rest) & sent))


def account_orderbooks(sent_logs: Iterable[Mapping[str, Any]], kafka_books: Mapping[BookKey, int],
                       counters: KrwfeedCounters, allow_unread: bool = False, copies: int = 0) -> Account:
    """``kafka_books``: distinct orderbooks read back per (exchange, code); ``copies``: records read
    back more than once (identical apart from krwfeed's receive time), reported as duplicates.
    More distinct books for a code than the simulator logged for it is reported as ``extra``."""
    sent: Counter[BookKey] = Counter()
    for log in sent_logs:
        for code, n in log["orderbooks"].items():
            sent[(str(log["exchange"]), code)] += int(n)
    delivered = sum(min(n, sent.get(key, 0)) for key, n in kafka_books.items())
    surplus = sum(max(0, n - sent.get(key, 0)) for key, n in kafka_books.items())
    return _settle(ORDERBOOK, sum(sent.values()), delivered, copies, surplus, counters, allow_unread)


HEADER = ("scenario", "type", "sent", "delivered", "dup", "dropped by reason", "ambiguous", "unread",
          "unaccounted")


def table_rows(scenario: str, accounts: Iterable[Account]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for a in accounts:
        reasons = ", ".join(f"{r}={n}" for r, n in sorted(a.dropped.items())) or "-"
        dup = (str(a.duplicates) + (f" (+{a.extra} not in the sent log)" if a.extra else "")
               + (f" (+{a.recovered} recovered over REST)" if a.recovered else ""))
        bad = str(a.unaccounted) + (f" (+{a.overcounted} over-counted)" if a.overcounted else "")
        rows.append((scenario, a.data_type, str(a.sent), str(a.delivered), dup, reasons, str(a.ambiguous),
                     str(a.unread), bad))
    return rows


def format_table(rows: Iterable[tuple[str, ...]]) -> str:
    rows = [HEADER, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
