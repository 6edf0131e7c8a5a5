"""Shared field conversions: exact decimals, epoch units by magnitude, zones."""
from __future__ import annotations

from datetime import UTC
from decimal import Decimal

import pytest

from exchanges.fields import KST, date_and_time_to_us, epoch_to_us, local_time_to_us, to_decimal
from exchanges.jsonparse import loads_exact

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("wire,expected", [
    ("1.16539E8", "116539000"), ("0E-8", "0"), ("31883000.00000000", "31883000"), ("7.9276E-4", "0.00079276"),
    ("5.0E-4", "0.0005"), ("0.0010", "0.001"), ("728107452.06423197609921044", "728107452.06423197609921044"),
])
def test_S2_2_j_json_numbers_equal_the_wire_text(wire: str, expected: str) -> None:
    value = loads_exact(f'{{"v":{wire}}}'.encode())["v"]
    assert isinstance(value, Decimal) and value == Decimal(wire) == Decimal(expected)
    assert str(value) == str(Decimal(wire))  # same digits and exponent as the text, trailing zeros kept


def test_big_integers_stay_exact() -> None:
    ids = loads_exact(b"[17303368620470000, 9007199254740993, 18446744073709551615]")
    assert ids == [17303368620470000, 2**53 + 1, 2**64 - 1] and all(type(i) is int for i in ids)


def test_to_decimal_refuses_non_numbers() -> None:
    assert to_decimal("0.0185") == Decimal("0.0185") and to_decimal(3715000) == Decimal(3715000)
    for bad in (True, None, [1], 1.5, "NaN", "Infinity"):
        with pytest.raises((TypeError, ValueError, ArithmeticError)):
            to_decimal(bad)


def test_S2_5_b_epoch_units_detected_by_magnitude() -> None:
    assert epoch_to_us(1676965220395) == 1676965220395000  # ms
    assert epoch_to_us(1790133505546514) == 1790133505546514  # us
    assert epoch_to_us("1628835823604483") == 1628835823604483  # legacy string us
    for bad in (17, 10**17, -5, "12a", 1.5):
        with pytest.raises((TypeError, ValueError)):
            epoch_to_us(bad)


def test_time_zones() -> None:
    assert date_and_time_to_us("2023-02-21", "07:40:20", UTC) == 1676965220000000
    assert date_and_time_to_us("20240910", "091617", KST) == 1725927377000000  # 00:16:17Z
    assert local_time_to_us("2020-01-29 12:24:18.830039", KST) == 1580268258830039  # 03:24:18.830039Z
    with pytest.raises(ValueError):
        local_time_to_us("2020-01-29T12:24:18+09:00", KST)
    with pytest.raises(ValueError):
        date_and_time_to_us("2023-2-21", "07:40", UTC)
