"""ExchangeConfig: one exchange connection group's settings. Frozen; validated on creation.

Secrets never live here: the public market-data streams need none, and anything
secret comes from the environment into ``domain.settings.Secret`` values.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from domain.capabilities import (
    DATA_TYPES,
    DEFAULT_MARKETS_REFRESH_S,
    EXCHANGE_NAMES,
    MAX_MARKETS_REFRESH_S,
    MIN_MARKETS_REFRESH_S,
    capabilities,
    config_problems,
)
from domain.exceptions import ValidationException
from domain.market_data import normalise_code

# Field list is the contract used by connectors and the supervisor; validation lives in __post_init__.
# What each exchange accepts (depths, formats, data types, codes per connection) is checked against
# domain/capabilities.py, the same rules the settings schema applies.

MIN_PING_INTERVAL_S = 30.0
MAX_BACKOFF_S = 60.0  # a reconnect never waits longer than this
MIN_FRAME_BYTES, MAX_FRAME_BYTES = 64 * 1024, 64 * 1024 * 1024  # accepted range of max_frame_bytes


ALL_ON_ONE_CONNECTION = -1  # the default of ExchangeConfig.markets_per_connection
DEFAULT_BACKFILL_BUDGET = 2000  # REST requests per reconnect and connection: 8 pages for each of 250 markets
MAX_BACKFILL_BUDGET = 100_000


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    name: str  # "upbit" | "bithumb" | "bithumb-legacy"
    ws_url: str
    rest_url: str
    markets: tuple[str, ...]
    data_types: tuple[str, ...] = DATA_TYPES
    format: str = "DEFAULT"  # "DEFAULT" | "SIMPLE"
    orderbook_depth: int | None = None  # the ".N" code suffix; None = the exchange's default depth
    # unset (ALL_ON_ONE_CONNECTION): as many codes on one connection as the exchange takes, i.e. all of
    # them for any real market list
    markets_per_connection: int = ALL_ON_ONE_CONNECTION
    # Both exchanges document a 120 s idle close but were observed closing quiet sockets at ~60 s
    # (1006, no close frame). A ping every 30 s puts two pings inside that window, so one lost or
    # late pong still leaves the connection alive; 30 s is also the floor accepted below, since
    # pinging faster only adds traffic.
    ping_interval_s: float = 30.0
    pong_timeout_s: float = 10.0
    stale_timeout_s: float = 45.0  # no data and no pong for this long -> reconnect
    idle_timeout_s: float = 60.0  # the exchange's observed idle close
    connect_timeout_s: float = 5.0
    max_reconnect_attempts: int = 0  # 0 = retry forever
    backoff_initial_s: float = 1.0
    backoff_factor: float = 2.0
    backoff_max_s: float = 60.0
    backoff_jitter: float = 0.2  # +/- fraction
    quote_currencies: tuple[str, ...] = ("KRW",)
    # PEM file of the CA certificates that wss:// servers must chain to, used instead of the system's
    # trust store (a private CA, or the simulator's throwaway test CA). None: the system's store.
    tls_ca_file: str | None = None
    # The largest WebSocket message read (a frame, or a fragmented message in total); a larger one
    # is counted as malformed and dropped as "oversized", and the connection is reconnected.
    max_frame_bytes: int = 4 * 1024 * 1024
    # After a reconnect, fetch the trades the connection's markets made while it was away from REST
    # (``/v1/trades/ticks``), at most ``backfill_budget`` requests per reconnect and connection.
    backfill: bool = True
    backfill_budget: int = DEFAULT_BACKFILL_BUDGET
    # ``markets: all``: follow every listed market of ``quote_currencies`` from ``GET /v1/market/all``,
    # asked at start and every ``markets_refresh_s``; ``markets`` then holds the codes followed so far
    # (empty until the first listing arrives). With a list, ``markets`` is that list and no listing is read.
    markets_all: bool = False
    exclude: tuple[str, ...] = ()  # never followed, whichever way the markets are chosen
    markets_refresh_s: float = DEFAULT_MARKETS_REFRESH_S

    def __post_init__(self) -> None:
        name = str(self.name).strip().lower()
        _require(name in EXCHANGE_NAMES, "unknown exchange", name, self.name, accepted=sorted(EXCHANGE_NAMES))
        quotes = tuple(dict.fromkeys(str(q).strip().upper() for q in _as_tuple(self.quote_currencies)))
        _require(bool(quotes) and all(quotes), "quote_currencies must not be empty", name, self.quote_currencies)
        self._set("name", name)
        self._set("quote_currencies", quotes)
        self._set("ws_url", _checked_url(self.ws_url, "ws_url", ("wss",), ("ws",), name))
        self._set("rest_url", _checked_url(self.rest_url, "rest_url", ("https",), ("http",), name))
        _require(isinstance(self.markets_all, bool), "markets_all must be true or false", name, self.markets_all)
        exclude = tuple(dict.fromkeys(normalise_code(m, quotes) for m in _as_tuple(self.exclude)))
        self._set("exclude", exclude)
        markets = tuple(c for c in dict.fromkeys(normalise_code(m, quotes) for m in _as_tuple(self.markets))
                        if c not in exclude)
        _require(bool(markets) or self.markets_all, "subscribed markets must not be empty", name, self.markets)
        _require(_is_number(self.markets_refresh_s)
                 and MIN_MARKETS_REFRESH_S <= self.markets_refresh_s <= MAX_MARKETS_REFRESH_S,
                 f"markets_refresh_s must be seconds from {MIN_MARKETS_REFRESH_S:g} to {MAX_MARKETS_REFRESH_S:g}",
                 name, self.markets_refresh_s)
        self._set("markets", markets)
        data_types = tuple(dict.fromkeys(str(t).strip().lower() for t in _as_tuple(self.data_types)))
        self._set("data_types", data_types)
        self._set("format", str(self.format).strip().upper())
        _require(self.orderbook_depth is None or _is_int(self.orderbook_depth),
                 "orderbook_depth must be an integer or unset", name, self.orderbook_depth)
        _require(_is_int(self.markets_per_connection), "markets_per_connection must be an integer", name,
                 self.markets_per_connection)
        if self.markets_per_connection == ALL_ON_ONE_CONNECTION and name in EXCHANGE_NAMES:
            self._set("markets_per_connection", capabilities(name).max_codes_per_connection)
        problems = config_problems(name, data_types=data_types, fmt=self.format,
                                   orderbook_depth=self.orderbook_depth, markets=len(markets),
                                   markets_per_connection=self.markets_per_connection)
        for field_name, allowed in problems.items():
            _require(False, f"{field_name} must be {allowed}", name, getattr(self, field_name))
        _require(type(self.max_frame_bytes) is int and MIN_FRAME_BYTES <= self.max_frame_bytes <= MAX_FRAME_BYTES,
                 f"max_frame_bytes must be an integer from {MIN_FRAME_BYTES} to {MAX_FRAME_BYTES}", name,
                 self.max_frame_bytes)
        _require(self.tls_ca_file is None or isinstance(self.tls_ca_file, str) and bool(self.tls_ca_file.strip()),
                 "tls_ca_file must be a file path or unset", name, self.tls_ca_file)
        _require(type(self.backfill) is bool, "backfill must be true or false", name, self.backfill)
        _require(_is_int(self.backfill_budget) and 0 <= self.backfill_budget <= MAX_BACKFILL_BUDGET,
                 f"backfill_budget must be an integer from 0 to {MAX_BACKFILL_BUDGET}", name, self.backfill_budget)
        self._check_timing(name)

    def _check_timing(self, name: str) -> None:
        for field_name in ("ping_interval_s", "pong_timeout_s", "stale_timeout_s", "idle_timeout_s",
                           "connect_timeout_s", "backoff_initial_s", "backoff_factor", "backoff_max_s"):
            value = getattr(self, field_name)
            _require(_is_number(value) and value > 0, f"{field_name} must be a positive number", name, value)
        _require(self.ping_interval_s >= MIN_PING_INTERVAL_S,
                 f"ping_interval_s below {MIN_PING_INTERVAL_S:g} s is not accepted", name, self.ping_interval_s)
        problems = timing_problems(self.ping_interval_s, self.pong_timeout_s, self.idle_timeout_s,
                                   self.backoff_initial_s, self.backoff_max_s)
        for field_name, allowed in problems.items():
            _require(False, f"{field_name} must be {allowed}", name, getattr(self, field_name))
        _require(_is_int(self.max_reconnect_attempts) and self.max_reconnect_attempts >= 0,
                 "max_reconnect_attempts must be >= 0 (0 = retry forever)", name, self.max_reconnect_attempts)
        _require(self.backoff_factor >= 1, "backoff_factor must be at least 1", name, self.backoff_factor)
        _require(self.backoff_max_s <= MAX_BACKOFF_S, f"backoff_max_s must be at most {MAX_BACKOFF_S:g} s", name,
                 self.backoff_max_s)
        _require(_is_number(self.backoff_jitter) and 0 <= self.backoff_jitter < 1,
                 "backoff_jitter must be a fraction in [0, 1)", name, self.backoff_jitter)

    def _set(self, field_name: str, value: Any) -> None:
        object.__setattr__(self, field_name, value)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str):  # a lone string is one item, not its characters
        return (value,)
    return tuple(value or ())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def timing_problems(ping_interval_s: float, pong_timeout_s: float, idle_timeout_s: float,
                    backoff_initial_s: float, backoff_max_s: float) -> dict[str, str]:
    """The rules that tie timing settings to each other: field -> what it must be (empty when all hold).

    Both the settings schema and ``ExchangeConfig`` apply these, so a file and a direct construction
    are held to the same rules.
    """
    problems: dict[str, str] = {}
    if ping_interval_s >= idle_timeout_s:
        problems["ping_interval_s"] = (f"seconds, less than idle_timeout_s ({idle_timeout_s}) so the exchange "
                                       "never closes an idle connection")
    if pong_timeout_s >= ping_interval_s:
        problems["pong_timeout_s"] = f"seconds, less than ping_interval_s ({ping_interval_s})"
    if backoff_initial_s > backoff_max_s:
        problems["backoff_initial_s"] = f"seconds, at most backoff_max_s ({backoff_max_s})"
    return problems


def _require(ok: bool, message: str, exchange: str, value: Any, **context: Any) -> None:
    if not ok:
        raise ValidationException(message, exchange=exchange, value=value, **context)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_url(url: Any, field_name: str, secure: tuple[str, ...], plain: tuple[str, ...], exchange: str) -> str:
    """Secure schemes anywhere; plain ones only towards this machine (the simulator, tests)."""
    text = str(url).strip() if isinstance(url, str) else ""
    parts = urlsplit(text)
    host = parts.hostname or ""
    ok = bool(host) and (parts.scheme in secure or (parts.scheme in plain and _is_loopback(host)))
    _require(ok, f"{field_name} must be {secure[0]}:// (or {plain[0]}:// to a loopback host)", exchange, url)
    return text
