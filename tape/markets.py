"""Which markets to follow, and what a refresh of the exchange's market list changes.

Configured per exchange: ``markets: all`` (every listed market of the quote currencies, KRW by
default) or a list, and an optional ``exclude``. Each refresh of ``GET /v1/market/all`` gives the
listed codes; the result is the markets to follow with what was added and removed. A refresh that
failed (no listing) keeps the last known list: a listing krwfeed could not read must not delist
anything.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_QUOTES = ("KRW",)


def _normal(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code.strip().upper() for code in codes if code.strip()))


@dataclass(frozen=True, slots=True)
class MarketSelection:
    """``configured`` None means ``markets: all``; otherwise the configured codes, in order."""

    configured: tuple[str, ...] | None = None
    exclude: frozenset[str] = frozenset()
    quotes: tuple[str, ...] = DEFAULT_QUOTES

    @classmethod
    def of(cls, markets: str | Sequence[str], exclude: Iterable[str] = (),
           quotes: Iterable[str] = DEFAULT_QUOTES) -> MarketSelection:
        """From configuration values: ``"all"`` or a list of codes."""
        if isinstance(markets, str):
            if markets.strip().lower() != "all":
                raise ValueError(f"markets must be 'all' or a list of codes, got {markets!r}")
            configured = None
        else:
            configured = _normal(markets)
        wanted_quotes = tuple(dict.fromkeys(q.strip().upper() for q in quotes if q.strip()))
        if not wanted_quotes:
            raise ValueError("at least one quote currency is needed")
        return cls(configured, frozenset(_normal(exclude)), wanted_quotes)

    def select(self, listed: Iterable[str]) -> tuple[str, ...]:
        """The markets to follow given the listed codes: every listed one of the quote currencies
        (``all``) or the configured ones that are listed, in configured order; never an excluded one."""
        quotes = set(self.quotes)
        available = tuple(c for c in _normal(listed) if c.split("-", 1)[0] in quotes)
        if self.configured is None:
            chosen: Iterable[str] = available
        else:
            listed_now = set(available)
            chosen = (c for c in self.configured if c in listed_now)
        return tuple(c for c in chosen if c not in self.exclude)


@dataclass(frozen=True, slots=True)
class MarketRefresh:
    markets: tuple[str, ...]  # to follow from now on
    added: tuple[str, ...]  # to subscribe (in the order of ``markets``)
    removed: tuple[str, ...]  # to drop (in the order they were followed)
    failed: bool = False  # the listing could not be had: ``markets`` is the last known list

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def refresh(selection: MarketSelection, last_known: Sequence[str], listing: Iterable[str] | None) -> MarketRefresh:
    """Apply one refresh: ``listing`` is the exchange's listed codes, or None when the refresh failed."""
    previous = tuple(last_known)
    if listing is None:
        return MarketRefresh(previous, (), (), failed=True)
    markets = selection.select(listing)
    now, before = set(markets), set(previous)
    return MarketRefresh(markets, tuple(c for c in markets if c not in before),
                         tuple(c for c in previous if c not in now))
