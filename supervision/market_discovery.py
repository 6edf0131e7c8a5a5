"""The supervisor's rules for ``markets: all``: what one market-list answer changes, how the codes move
between connections, how long to wait before asking again, and the counts the status shows.

Pure: the supervisor passes the listing (or None when the request failed), the clock and the
connections it runs; it gets back which connections get a new code list, which new connections to
start and which to stop, plus a log line. Nothing here opens a socket.

Codes stay where they are: a connection that loses or gains no code is left alone (its subscription
is not sent again), new codes fill the connections that have room in plan order, and only what does
not fit opens new connections. A connection left without codes is stopped, since an exchange refuses
a subscription without codes.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.capabilities import MAX_CONNECTIONS_PER_EXCHANGE
from domain.exceptions import ValidationException
from domain.records import Exchange
from exchanges.rest import parse_market_list
from supervision.connection_plan import MAX_ACTOR_PROCESSES
from tape.markets import MarketRefresh, MarketSelection, refresh

# Start-up with the market list unavailable: ask again after 1 s, doubling up to 30 s. Later
# refreshes keep their own period: the last list is followed meanwhile.
FIRST_RETRY_S = 1.0
RETRY_FACTOR = 2.0
MAX_RETRY_S = 30.0


def retry_delay_s(failures: int) -> float:
    """The wait before the next start-up attempt after ``failures`` failed ones in a row (>= 1)."""
    return min(MAX_RETRY_S, FIRST_RETRY_S * RETRY_FACTOR ** max(0, failures - 1))


@dataclass(frozen=True, slots=True)
class Regroup:
    """How the connections of one exchange change."""

    updates: dict[str, tuple[str, ...]]  # running connection -> its complete new code list
    new: dict[str, tuple[str, ...]]  # connection to start -> its codes
    stopped: tuple[str, ...]  # running connections left without codes

    @property
    def empty(self) -> bool:
        return not (self.updates or self.new or self.stopped)


def regroup(exchange: str, current: Mapping[str, Sequence[str]], markets: Sequence[str], size: int,
            next_index: int) -> Regroup:
    """Move ``current`` (connection -> codes, in plan order) to carry exactly ``markets``, at most
    ``size`` codes a connection; new connections are named ``<exchange>-<n>`` from ``next_index``."""
    size = max(1, size)
    wanted = list(dict.fromkeys(markets))
    wanted_set = set(wanted)
    kept: dict[str, list[str]] = {cid: [c for c in codes if c in wanted_set] for cid, codes in current.items()}
    placed = {c for codes in kept.values() for c in codes}
    waiting = [c for c in wanted if c not in placed]
    for codes in kept.values():
        room = size - len(codes)
        if room > 0 and waiting:
            codes.extend(waiting[:room])
            del waiting[:room]
    new: dict[str, tuple[str, ...]] = {}
    index = next_index
    while waiting:
        new[f"{exchange}-{index}"] = tuple(waiting[:size])
        del waiting[:size]
        index += 1
    updates = {cid: tuple(codes) for cid, codes in kept.items() if codes and tuple(codes) != tuple(current[cid])}
    stopped = tuple(cid for cid, codes in kept.items() if not codes)
    return Regroup(updates, new, stopped)


@dataclass(frozen=True, slots=True)
class ConnectionChange:
    """What one connection starts and stops carrying (one MARKETS_CHANGED event)."""

    connection_id: str
    codes: tuple[str, ...]  # what it carries from now on (empty: stopped)
    added: tuple[str, ...]
    removed: tuple[str, ...]


def connection_changes(current: Mapping[str, Sequence[str]], plan: Regroup) -> list[ConnectionChange]:
    """Per connection touched by ``plan``: its codes after the change, and what was added and removed."""
    changes = []
    for cid, codes in plan.updates.items():
        old = tuple(current[cid])
        changes.append(ConnectionChange(cid, codes, tuple(c for c in codes if c not in old),
                                        tuple(c for c in old if c not in codes)))
    changes += [ConnectionChange(cid, codes, codes, ()) for cid, codes in plan.new.items()]
    changes += [ConnectionChange(cid, (), (), tuple(current[cid])) for cid in plan.stopped]
    return changes


def connection_room(exchange_connections: int, connections: int, producers: int) -> int:
    """How many more connections one exchange may start: at most ``MAX_CONNECTIONS_PER_EXCHANGE`` of
    its own, and never more actor processes than the load-time limit allows (every connection is
    one; the supervisor, the buffer, Thespian's admin and logger are the fixed four)."""
    processes = connections + producers + 4
    return max(0, min(MAX_CONNECTIONS_PER_EXCHANGE - exchange_connections, MAX_ACTOR_PROCESSES - processes))


@dataclass(slots=True)
class ExchangeDiscovery:
    """One exchange's market list as followed: the last known codes and the counts shown in the status."""

    exchange: str
    selection: MarketSelection
    refresh_s: float
    markets: tuple[str, ...] = ()
    listed: bool = False  # a listing has been read at least once
    refreshes_ok: int = 0
    refreshes_failed: int = 0
    failures_in_row: int = 0
    markets_added: int = 0
    markets_removed: int = 0
    last_error: str = ""
    last_refresh_us: int = 0

    def apply(self, listing: Sequence[str] | None, error: str, now_us: int) -> MarketRefresh:
        """One answer: the listed codes, or None with ``error`` when it could not be had or read."""
        result = refresh(self.selection, self.markets, listing)
        if result.failed:
            self.refreshes_failed += 1
            self.failures_in_row += 1
            self.last_error = error
            return result
        self.refreshes_ok += 1
        self.failures_in_row = 0
        self.last_error = ""
        self.last_refresh_us = now_us
        if self.listed:  # the first listing is the start, not a change
            self.markets_added += len(result.added)
            self.markets_removed += len(result.removed)
        self.listed = True
        self.markets = result.markets
        return result

    def next_request_in_s(self) -> float:
        """After the last answer: the refresh period, or the start-up backoff while nothing was listed."""
        if not self.listed and self.failures_in_row:
            return retry_delay_s(self.failures_in_row)
        return self.refresh_s

    def state(self) -> str:
        if self.listed:
            return "following"
        return "retrying" if self.failures_in_row else "waiting"

    def status(self) -> dict[str, object]:
        return {
            "state": self.state(), "markets": len(self.markets), "refresh_s": self.refresh_s,
            "refreshes_ok": self.refreshes_ok, "refreshes_failed": self.refreshes_failed,
            "markets_added": self.markets_added, "markets_removed": self.markets_removed,
            "last_error": self.last_error, "last_refresh_us": self.last_refresh_us,
        }


def record_exchange(name: str) -> Exchange:
    """The exchange records name: both Bithumb APIs publish as ``bithumb``."""
    return Exchange.UPBIT if name == "upbit" else Exchange.BITHUMB


def read_listing(exchange: str, status: int | None, body: bytes, error: str,
                 quotes: Sequence[str]) -> tuple[tuple[str, ...] | None, str]:
    """One ``GET /v1/market/all`` answer -> (the listed codes, "") or (None, why it is unusable)."""
    if error or status != 200:
        return None, error or f"HTTP {status}"
    try:
        return parse_market_list(body, record_exchange(exchange), quotes), ""
    except ValidationException as exc:
        return None, f"unreadable market list: {exc}"


def change_line(exchange: str, result: MarketRefresh) -> str:
    """The log line of a listing that changed what is followed."""
    parts = []
    if result.added:
        parts.append(f"{len(result.added)} new ({', '.join(result.added[:10])}"
                     f"{' ...' if len(result.added) > 10 else ''})")
    if result.removed:
        parts.append(f"{len(result.removed)} delisted ({', '.join(result.removed[:10])}"
                     f"{' ...' if len(result.removed) > 10 else ''})")
    return f"{exchange}: market list changed: {'; '.join(parts)}; {len(result.markets)} markets followed"
