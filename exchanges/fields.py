"""Field conversions shared by the exchange adapters: exact decimals, epoch units, time zones.

All functions raise plain ``ValueError``/``TypeError``; the adapters turn those into
``ValidationException`` with the frame's context.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

UTC = UTC
# Korea has kept +09:00 without daylight saving since 1988: a fixed offset is exact.
KST = timezone(timedelta(hours=9), "KST")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Epoch values are classified by magnitude (reference pitfall 10): Bithumb v2 orderbook timestamps
# are microseconds while its trade timestamps, and all of Upbit's, are milliseconds.
# 1e11 ms = 1973-03-03, 1e14 ms = year 5138; 1e14 us = 1973-03-03, 1e17 us = year 5138.
_MS_MIN, _US_MIN, _US_MAX = 10**11, 10**14, 10**17


def to_decimal(value: Any) -> Decimal:
    """A JSON number (Decimal or int from ``loads_exact``) or a numeric string, as an exact Decimal."""
    kind = type(value)
    if kind is Decimal:
        result: Decimal = value
    elif kind is int:
        result = Decimal(value)
    elif kind is str:
        result = Decimal(value.strip())
    else:  # bool, None, lists ... are never numbers
        raise TypeError(f"expected a number, got {kind.__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def optional_decimal(value: Any) -> Decimal | None:
    return None if value is None or value == "" else to_decimal(value)


def epoch_to_us(value: Any) -> int:
    """Milliseconds or microseconds since the epoch (number or digit string) -> microseconds."""
    if type(value) is int:  # JSON integers, the usual case, skip the conversions
        number: int = value
    elif type(value) is str and value.isdigit() or type(value) is Decimal and value == value.to_integral_value():
        number = int(value)
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
