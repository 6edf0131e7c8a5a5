"""ExchangeConfig: one exchange connection group's settings (seed S1.3). Frozen; validated on creation."""
from __future__ import annotations

from dataclasses import dataclass

# Field list is the contract used by connectors and the supervisor; validation lives in __post_init__.


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    name: str  # "upbit" | "bithumb"
    ws_url: str
    rest_url: str
    markets: tuple[str, ...]
    data_types: tuple[str, ...] = ("trade", "orderbook")
    format: str = "DEFAULT"  # "DEFAULT" | "SIMPLE"
    orderbook_depth: int | None = None  # Upbit ".N" suffix (1/5/15/30); None = exchange default
    markets_per_connection: int = 50
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
