"""What differs between Upbit and Bithumb on the public WebSocket."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExchangeProfile:
    name: str
    snapshot_option: str  # spelling of "only snapshot" that the venue honours
    realtime_option: str  # spelling of "only realtime" that the venue honours
    default_depth: int  # orderbook units per frame without a .N suffix
    allowed_depths: frozenset[int]  # accepted .N suffixes; anything else gives default_depth
    orderbook_level: int  # `level` written in orderbook frames
    trade_clock_offset_hours: int  # trade_date/trade_time: 0 = UTC (Upbit), 9 = KST (Bithumb)
    orderbook_timestamp_micros: bool  # Bithumb writes µs in orderbook frames
    size_places: int  # sizes are rounded to this many decimals on the wire
    unknown_format_is_error: bool  # Bithumb rejects an unknown format, Upbit sends DEFAULT
    connect_limit_per_second: int  # WebSocket upgrades per client address per second
    # REST requests per client address per second, per rate-limit group ("trade": /v1/trades/ticks,
    # "market": /v1/market/all). Upbit: 10 per group; Bithumb: 150 per category of its public API.
    rest_limit_per_second: int
    remaining_req_header: bool  # Upbit reports what is left of the group in a Remaining-Req header


UPBIT = ExchangeProfile(
    name="upbit",
    snapshot_option="is_only_snapshot",
    realtime_option="is_only_realtime",
    default_depth=30,
    allowed_depths=frozenset({1, 5, 15, 30}),
    orderbook_level=0,
    trade_clock_offset_hours=0,
    orderbook_timestamp_micros=False,
    size_places=8,
    unknown_format_is_error=False,
    connect_limit_per_second=5,
    rest_limit_per_second=10,
    remaining_req_header=True,
)

BITHUMB = ExchangeProfile(
    name="bithumb",
    snapshot_option="isOnlySnapshot",
    realtime_option="isOnlyRealtime",
    default_depth=15,
    allowed_depths=frozenset(range(1, 16)),
    orderbook_level=1,
    trade_clock_offset_hours=9,
    orderbook_timestamp_micros=True,
    size_places=4,
    unknown_format_is_error=True,
    connect_limit_per_second=10,
    rest_limit_per_second=150,
    remaining_req_header=False,
)

PROFILES = {UPBIT.name: UPBIT, BITHUMB.name: BITHUMB}
