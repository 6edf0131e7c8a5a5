"""KRW price grid: the tick size Upbit enforces in each price band.

Bands at or above 100 KRW follow Upbit's KRW table in force since 2025-07-31
(docs.upbit.com/kr/docs/krw-market-info); the bands below 100 KRW keep the
2024 table (docs.upbit.com changelog krw_tick_unit_change). Bithumb's KRW
markets are generated on the same grid so that both venues look alike.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

# (lower bound of the band, tick size), highest band first.
KRW_TICK_BANDS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(1_000_000), Decimal(1000)),
    (Decimal(500_000), Decimal(500)),
    (Decimal(100_000), Decimal(100)),
    (Decimal(50_000), Decimal(50)),
    (Decimal(10_000), Decimal(10)),
    (Decimal(5_000), Decimal(5)),
    (Decimal(100), Decimal(1)),
    (Decimal(10), Decimal("0.01")),
    (Decimal(1), Decimal("0.001")),
    (Decimal("0.1"), Decimal("0.0001")),
    (Decimal("0.01"), Decimal("0.00001")),
    (Decimal("0.001"), Decimal("0.000001")),
    (Decimal("0.0001"), Decimal("0.0000001")),
)
SMALLEST_TICK = Decimal("0.00000001")


def tick_size(price: Decimal) -> Decimal:
    """Tick size of the band that `price` falls in."""
    for lower, tick in KRW_TICK_BANDS:
        if price >= lower:
            return tick
    return SMALLEST_TICK


def floor_to_tick(price: Decimal) -> Decimal:
    """Largest price on the grid that is not above `price` (never below the smallest tick)."""
    tick = tick_size(price)
    floored = (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
    return max(floored, tick).quantize(tick) if tick < 1 else max(floored, tick).quantize(Decimal(1))


def is_on_grid(price: Decimal) -> bool:
    """True when `price` is a whole number of ticks of its own band."""
    return price > 0 and price % tick_size(price) == 0


def step_up(price: Decimal) -> Decimal:
    """Next price on the grid above `price` (which must be on the grid)."""
    return floor_to_tick(price + tick_size(price))


def step_down(price: Decimal) -> Decimal:
    """Next price on the grid below `price`; crossing into a lower band uses that band's tick."""
    candidate = price - tick_size(price)
    lower_tick = tick_size(candidate)
    if lower_tick < tick_size(price):
        candidate = price - lower_tick
    return floor_to_tick(candidate)
