"""Field conversions shared by the exchange adapters: exact decimal texts, epoch units, time zones.

All functions raise plain ``ValueError``/``TypeError``; the adapters turn those into
``ValidationException`` with the frame's context.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from domain.records import MAX_NUMBER_CHARS as MAX_NUMBER_CHARS  # part of this module's interface
from domain.records import PLAIN_NUMBER, PriceLevel

UTC = UTC
# Korea has kept +09:00 without daylight saving since 1988: a fixed offset is exact.
KST = timezone(timedelta(hours=9), "KST")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Epoch values are classified by magnitude (reference pitfall 10): Bithumb v2 orderbook timestamps
# are microseconds while its trade timestamps, and all of Upbit's, are milliseconds.
# 1e11 ms = 1973-03-03, 1e14 ms = year 5138; 1e14 us = 1973-03-03, 1e17 us = year 5138.
_MS_MIN, _US_MIN, _US_MAX = 10**11, 10**14, 10**17


# The bound on one number (MAX_NUMBER_CHARS), checked before it is read or written out: a frame could
# otherwise carry 1e-50000000 (50 MB once written out) or a timestamp 1e9999999 (an integer of ten
# million digits). It holds for the text as sent and for its plain notation.
INT_BOUND = 10**MAX_NUMBER_CHARS
# Plain notation, the form records carry: ASCII digits with at most one point, no sign, no exponent.
# JSON numbers of this form are kept as sent; a number sent as a JSON string may also be spelled
# "5." or ".5" or "007", still exact, and is kept as sent too.
_PLAIN = PLAIN_NUMBER


def plain(value: Decimal) -> str:
    """Plain notation of the exact value: 1.16539E+8 -> "116539000", 0E-8 -> "0.00000000".

    Digits the exchange sent are kept, trailing zeros included ("0.0010" stays "0.0010"); only the
    exponent form is expanded.
    """
    if type(value) is not Decimal:
        raise TypeError(f"expected a Decimal, got {type(value).__name__}")
    text = str(value)
    return format(value, "f") if "E" in text else text


def decimal_text(value: Any) -> str:
    """A JSON number as ``loads_exact`` gives it (the wire text of a non-integer, an ``int``) or a
    numeric string -> the exact decimal in plain notation, the form records carry.

    A plain wire text comes back as it is (same object); anything else (exponent form, sign,
    spaces, a number sent as a string) is read as a ``Decimal`` within the bounds above and written
    out in plain notation. Raises ``ValueError`` or ``TypeError``.
    """
    kind = type(value)
    if kind is str:
        text: str = value
        if len(text) <= MAX_NUMBER_CHARS and _PLAIN.fullmatch(text) is not None:
            return text
        return plain(bounded_decimal(text))
    if kind is int:
        if -INT_BOUND < value < INT_BOUND:
            return str(value)
        raise ValueError(f"integer has more than {MAX_NUMBER_CHARS} digits")
    raise TypeError(f"expected a number, got {kind.__name__}")  # bool, None, lists ... are never numbers


def bounded_decimal(text: str) -> Decimal:
    """A numeric string as an exact ``Decimal``, refused unless finite and its plain notation at most
    ``MAX_NUMBER_CHARS`` long (computed from digits and exponent, never by writing it out)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"number text longer than {MAX_NUMBER_CHARS} characters")
    try:
        number = Decimal(text.strip())
    except ArithmeticError as err:  # decimal.InvalidOperation
        raise ValueError(f"not a number: {text!r}") from err
    if not number.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    length = sign + (len(digits) + exponent if exponent >= 0 else max(len(digits), 1 - exponent) + 1)
    if length > MAX_NUMBER_CHARS:
        raise ValueError(f"number {text!r} takes more than {MAX_NUMBER_CHARS} characters written out")
    return number


def optional_text(value: Any) -> str | None:
    return None if value is None or value == "" else decimal_text(value)


# Every plain spelling of zero up to the length bound: a set lookup is the cheapest zero test.
ZEROS = frozenset(["0", ".0", "0."] + [f"0.{'0' * n}" for n in range(1, MAX_NUMBER_CHARS - 1)]
                  + [f".{'0' * n}" for n in range(2, MAX_NUMBER_CHARS)])


def plain_levels(pairs: list[tuple[Any, Any]]) -> tuple[PriceLevel, ...]:
    """(price, size) pairs of numbers or numeric strings -> price levels of exact plain texts; a
    level with a zero price or size (the padding of a thin book, dust rounded to 0) is left out."""
    levels = []
    for price, size in pairs:
        level = PriceLevel(decimal_text(price), decimal_text(size))
        if Decimal(level.price) and Decimal(level.size):
            levels.append(level)
    return tuple(levels)


def epoch_to_us(value: Any) -> int:
    """Milliseconds or microseconds since the epoch (number or digit string) -> microseconds."""
    if type(value) is int:  # JSON integers, the usual case, skip the conversions
        number: int = value
    elif type(value) is str and len(value) <= 20 and value.isascii() and value.isdigit():
        number = int(value)
    elif type(value) is str:  # a non-integer JSON number's text, e.g. 1676965220452.0, bounded first
        exact = bounded_decimal(value)
        if exact != exact.to_integral_value():
            raise TypeError(f"epoch time must be an integer, got {value!r}")
        number = int(exact)
    else:
        raise TypeError(f"epoch time must be an integer, got {value!r}")
    if _MS_MIN <= number < _US_MIN:
        return number * 1000
    if _US_MIN <= number < _US_MAX:
        return number
    raise ValueError(f"epoch time {value} is neither milliseconds nor microseconds of a plausible date")


def datetime_to_us(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding, unlike ``datetime.timestamp()``)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def local_time_to_us(text: str, zone: timezone) -> int:
    """A zone-less ``YYYY-MM-DD HH:MM:SS[.ffffff]`` string read in ``zone`` -> UTC microseconds."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is not None:
        raise ValueError(f"expected a time without zone, got {text!r}")
    return datetime_to_us(moment.replace(tzinfo=zone))


def date_and_time_to_us(date: str, time: str, zone: timezone) -> int:
    """``2023-02-21``/``20230221`` and ``07:40:20``/``074020`` in ``zone`` -> UTC microseconds."""
    digits_date = date.replace("-", "")
    digits_time = time.replace(":", "")
    if len(digits_date) != 8 or len(digits_time) != 6 or not (digits_date + digits_time).isdigit():
        raise ValueError(f"unrecognised date/time {date!r} {time!r}")
    moment = datetime(int(digits_date[:4]), int(digits_date[4:6]), int(digits_date[6:]),
                      int(digits_time[:2]), int(digits_time[2:4]), int(digits_time[4:]), tzinfo=zone)
    return datetime_to_us(moment)


def frame_text(frame: bytes | bytearray | memoryview | str) -> bytes | str:
    """Binary WebSocket frames carry UTF-8 JSON; keep them as bytes for the parser, which checks UTF-8."""
    if isinstance(frame, bytearray | memoryview):
        return bytes(frame)
    return frame
