"""Shared field conversions: exact decimal texts, bounded numbers, epoch units by magnitude, zones."""
from __future__ import annotations

from datetime import UTC
from decimal import Decimal

import pytest

from exchanges.fields import (
    KST,
    date_and_time_to_us,
    decimal_text,
    epoch_to_us,
    local_time_to_us,
    plain_levels,
)
from exchanges.jsonparse import loads_exact

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("wire,expected", [
    ("1.16539E8", "116539000"), ("0E-8", "0.00000000"), ("31883000.00000000", "31883000.00000000"),
    ("7.9276E-4", "0.00079276"), ("5.0E-4", "0.00050"), ("0.0010", "0.0010"),
    ("728107452.06423197609921044", "728107452.06423197609921044"), ("3715000", "3715000"),
])
def test_S2_2_j_json_numbers_equal_the_wire_text(wire: str, expected: str) -> None:
    value = loads_exact(f'{{"v":{wire}}}'.encode())["v"]
    text = decimal_text(value)
    assert text == expected and Decimal(text) == Decimal(wire)
    if "E" not in wire:
        assert text == wire  # the wire text itself, trailing zeros kept


def test_big_integers_stay_exact() -> None:
    ids = loads_exact(b"[17303368620470000, 9007199254740993, 18446744073709551615]")
    assert ids == [17303368620470000, 2**53 + 1, 2**64 - 1] and all(type(i) is int for i in ids)


def test_decimal_text_refuses_non_numbers() -> None:
    assert decimal_text("0.0185") == "0.0185" and decimal_text(3715000) == "3715000"
    assert decimal_text(" 12 ") == "12" and decimal_text("-5") == "-5"  # read, then refused by validation
    for bad in (True, None, [1], 1.5, "NaN", "Infinity", "", "1.2.3", "abc"):
        with pytest.raises((TypeError, ValueError, ArithmeticError)):
            decimal_text(bad)


@pytest.mark.parametrize("wire", ["1e-50000000", "1e-999999999", "1e9999999", "1E+64", "1e-63", "0e-99999",
                                  "1" * 65, "0." + "0" * 62 + "1", "9" * 70, "-1e63"])
def test_S2_2_f_numbers_out_of_bounds_are_refused_before_they_are_written_out(wire: str) -> None:
    value = loads_exact(f"[{wire}]".encode())[0]
    with pytest.raises(ValueError):
        decimal_text(value)
    with pytest.raises((TypeError, ValueError)):
        epoch_to_us(value)


def test_S2_2_f_levels_keep_texts_and_drop_zero_levels() -> None:
    pairs = [("64464.09", "0.0010"), (3715000, "8.4592"), ("0", "1.5"), ("12.5", "0.00000000")]
    assert plain_levels(pairs) == (("64464.09", "0.0010"), ("3715000", "8.4592"))
    assert plain_levels([("1.5E3", "2e-2")]) == (("1500", "0.02"),)  # exponent forms written out
    assert decimal_text("1E+63") == "1" + "0" * 63 and decimal_text("1e-62") == "0." + "0" * 61 + "1"
    assert plain_levels([]) == ()
    for bad in ([("1.2.3", "1")], [(None, "1")], [("1e-50000000", "1")], [("NaN", "1")]):
        with pytest.raises((TypeError, ValueError, ArithmeticError)):
            plain_levels(bad)


def test_S2_5_b_epoch_units_detected_by_magnitude() -> None:
    assert epoch_to_us(1676965220395) == 1676965220395000  # ms
    assert epoch_to_us(1790133505546514) == 1790133505546514  # us
    assert epoch_to_us("1628835823604483") == 1628835823604483  # legacy string us
    assert epoch_to_us("1676965220395.0") == 1676965220395000  # a JSON float with no fraction
    for bad in (17, 10**17, -5, "12a", 1.5, "1676965220395.5", "1" * 30):
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
