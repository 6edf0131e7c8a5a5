"""Number spellings the exchanges put on the wire.

Upbit's Java back end writes prices and sizes in a few ways, and a parser must
accept all of them:

* ``java_double``  - Java ``Double.toString``: ``1.16539E8``, ``6727000.0``, ``7.9276E-4``;
* ``scaled``       - Java ``BigDecimal`` with a fixed scale: ``31883000.00000000``, ``0E-8``;
* ``plain``        - shortest plain decimal: ``93332000``, ``0.0892``.

The simulator writes its JSON by hand with these helpers so that the spelling is
exactly controlled (a JSON library would normalise it).
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal


def plain(value: Decimal) -> str:
    """Shortest plain decimal, no exponent, no trailing zeros: 93332000, 0.0892, 0."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def scaled(value: Decimal, places: int = 8) -> str:
    """Java BigDecimal.toString at a fixed scale: 31883000.00000000, 0.00014208, 0E-8.

    Python's Decimal.__str__ implements the same to-scientific-string rule as
    Java's BigDecimal.toString, including the switch to exponent form when the
    adjusted exponent is below -6.
    """
    return str(value.quantize(Decimal(1).scaleb(-places)))


def java_double(value: Decimal) -> str:
    """Java Double.toString of the double nearest to `value`.

    Plain notation with at least one fractional digit for 1e-3 <= |x| < 1e7,
    otherwise computerised scientific notation with an unsigned ``E`` exponent.
    Java 19+ prints the shortest digits that round-trip, as Python's repr does.
    """
    number = float(value)
    if number == 0:
        return "0.0"
    sign = "-" if number < 0 else ""
    digits_tuple = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits)
    exponent = int(digits_tuple.exponent)
    point = len(digits) + exponent  # position of the decimal point within `digits`
    magnitude = abs(number)
    if 1e-3 <= magnitude < 1e7:
        if point <= 0:
            text = "0." + "0" * (-point) + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits)) + ".0"
        else:
            text = digits[:point] + "." + digits[point:]
        return sign + text
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{sign}{mantissa}E{point - 1}"


def size(value: Decimal, places: int) -> str:
    """A quantity rounded to the venue's precision and written plainly (Bithumb: 4 places)."""
    return plain(value.quantize(Decimal(1).scaleb(-places)))


UNIT = 100_000_000  # sizes travel as integers of 1e-8


def units_scaled(units: int) -> str:
    """An integer of 1e-8 units at scale 8: 77720 -> 0.00077720."""
    return f"{units // UNIT}.{units % UNIT:08d}"


def units_plain(units: int, places: int = 8) -> str:
    """An integer of 1e-8 units rounded half-up to `places` decimals, written plainly: 0.0892, 0."""
    step = 10 ** (8 - places)
    if step > 1:
        units = (units + step // 2) // step * step
    whole, frac = divmod(units, UNIT)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:08d}".rstrip("0")


def units_java(units: int) -> str:
    """An integer of 1e-8 units as Java Double.toString: 79276 -> 7.9276E-4."""
    return java_double(Decimal(units).scaleb(-8))


class CachedFormatter:
    """Memoises a price formatter: prices stay on a small grid around the mid, so hits dominate."""

    def __init__(self, formatter: Callable[[Decimal], str], limit: int = 200_000) -> None:
        self._formatter = formatter
        self._cache: dict[Decimal, str] = {}
        self._limit = limit

    def __call__(self, value: Decimal) -> str:
        text = self._cache.get(value)
        if text is None:
            if len(self._cache) >= self._limit:
                self._cache.clear()
            text = self._cache[value] = self._formatter(value)
        return text
