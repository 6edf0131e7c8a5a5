"""What each exchange's public WebSocket accepts, and the rules a configuration must follow to match.

The one home of these facts: the settings schema, ``ExchangeConfig``, the protocol adapters and the
connect pacer all read them here, so a value the exchange would refuse is refused when the
configuration loads (exit 2), never at connect time where it could only be retried forever.

Pure data and pure functions; of krwfeed it imports only the ``DataType`` enum.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from domain.records import DataType

DATA_TYPES: tuple[str, ...] = tuple(t.value for t in DataType)


@dataclass(frozen=True, slots=True)
class Capabilities:
    name: str
    data_types: tuple[str, ...]
    formats: tuple[str, ...]
    # Accepted ``orderbook_depth`` values (the ``.N`` code suffix); empty: the option does not exist.
    orderbook_depths: tuple[int, ...]
    default_depth: int  # orderbook levels per frame when no depth is asked for
    connects_per_s: float  # WebSocket connection requests per second and IP
    # No exchange documents a limit on codes in one subscription; this is the largest subscription
    # seen working on one socket (855 codes on Upbit, 493 on Bithumb), rounded up.
    max_codes_per_connection: int
    # Subscription requests on one open connection: each one replaces the whole subscription.
    # Upbit allows 5 a second and 100 a minute per connection; Bithumb documents no limit of its
    # own, so Upbit's is applied to it too.
    requests_per_s: int = 5
    requests_per_min: int = 100

    def depths_text(self) -> str:
        if not self.orderbook_depths:
            return "null (this exchange has no depth option)"
        depths = self.orderbook_depths
        contiguous = list(depths) == list(range(depths[0], depths[-1] + 1)) and len(depths) > 2
        listed = f"{depths[0]} to {depths[-1]}" if contiguous else ", ".join(map(str, depths))
        return f"null or one of {listed} (null: {self.default_depth} levels)"


CAPABILITIES: dict[str, Capabilities] = {
    # Since 2025-07-02 Upbit serves only these ".N" depths; anything else silently becomes 30.
    "upbit": Capabilities("upbit", DATA_TYPES, ("DEFAULT", "SIMPLE"), (1, 5, 15, 30), 30, 5.0, 1000),
    # Bithumb's v2 books have at most 15 levels; ".30" still sends 15.
    "bithumb": Capabilities("bithumb", DATA_TYPES, ("DEFAULT", "SIMPLE"), tuple(range(1, 16)), 15, 10.0, 500),
    # The legacy pubwss API has no format or depth options; its snapshots are whole 30-level books.
    "bithumb-legacy": Capabilities("bithumb-legacy", DATA_TYPES, ("DEFAULT",), (), 30, 10.0, 500),
}
EXCHANGE_NAMES: tuple[str, ...] = tuple(CAPABILITIES)

# Bounds of the service rather than of an exchange: Upbit lists about 850 markets and Bithumb about
# 500, and every connection is one OS process, so a list far longer than any exchange's (a
# generated file, a YAML alias gone wrong) is refused instead of starting thousands of processes.
MAX_MARKETS_PER_EXCHANGE = 2000
MAX_CONNECTIONS_PER_EXCHANGE = 50
# ``markets: all``: how often ``GET /v1/market/all`` is asked again. A listing changes a few times a
# month; faster than every second would only load the exchange's REST API.
DEFAULT_MARKETS_REFRESH_S = 300.0
MIN_MARKETS_REFRESH_S, MAX_MARKETS_REFRESH_S = 1.0, 86_400.0
MARKETS_ALL = "all"


def capabilities(name: str) -> Capabilities:
    """KeyError names the known exchanges."""
    try:
        return CAPABILITIES[name]
    except KeyError:
        raise KeyError(f"unknown exchange {name!r}; expected one of {', '.join(EXCHANGE_NAMES)}") from None


def connection_count(markets: int, markets_per_connection: int) -> int:
    return math.ceil(markets / max(1, markets_per_connection))


def config_problems(name: str, *, data_types: Sequence[str] | None = None, fmt: str | None = None,
                    orderbook_depth: int | None = None, markets: int | None = None,
                    markets_per_connection: int | None = None) -> dict[str, str]:
    """Settings an exchange cannot serve, by setting name -> what is allowed. Empty: all fine.

    Arguments left as None are not checked (callers pass what they have, already type-checked).
    """
    caps = CAPABILITIES.get(name)
    if caps is None:
        return {"name": f"one of: {', '.join(EXCHANGE_NAMES)}"}
    problems: dict[str, str] = {}
    if data_types is not None and (not data_types or not set(data_types) <= set(caps.data_types)):
        problems["data_types"] = f"a non-empty list drawn from: {', '.join(caps.data_types)}"
    if fmt is not None and fmt not in caps.formats:
        problems["format"] = f"{' or '.join(caps.formats)} on {name}"
    if orderbook_depth is not None and orderbook_depth not in caps.orderbook_depths:
        problems["orderbook_depth"] = f"{caps.depths_text()} on {name}"
    if markets is not None and markets > MAX_MARKETS_PER_EXCHANGE:
        problems["markets"] = (f"at most {MAX_MARKETS_PER_EXCHANGE} market codes per exchange "
                               f"(got {markets})")
    if markets_per_connection is not None:
        if not 1 <= markets_per_connection <= caps.max_codes_per_connection:
            problems["markets_per_connection"] = (f"an integer from 1 to {caps.max_codes_per_connection} "
                                                  f"on {name}")
        elif markets is not None and "markets" not in problems:
            count = connection_count(markets, markets_per_connection)
            if count > MAX_CONNECTIONS_PER_EXCHANGE:
                problems["markets_per_connection"] = (
                    f"large enough for at most {MAX_CONNECTIONS_PER_EXCHANGE} connections per exchange "
                    f"(each one is a process): {markets} markets need at least "
                    f"{math.ceil(markets / MAX_CONNECTIONS_PER_EXCHANGE)} per connection, got "
                    f"{markets_per_connection} ({count} connections)")
    return problems
